import { LabIcon } from '@jupyterlab/ui-components';

/** A tensor-train: four cores linked by bonds. */
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">
  <g class="jp-icon3" fill="#616161">
    <rect x="1" y="8" width="4" height="8" rx="1"/>
    <rect x="7" y="8" width="4" height="8" rx="1"/>
    <rect x="13" y="8" width="4" height="8" rx="1"/>
    <rect x="19" y="8" width="4" height="8" rx="1"/>
    <rect x="5" y="11" width="2" height="2"/>
    <rect x="11" y="11" width="2" height="2"/>
    <rect x="17" y="11" width="2" height="2"/>
    <rect x="2.5" y="3" width="1" height="5"/>
    <rect x="8.5" y="3" width="1" height="5"/>
    <rect x="14.5" y="3" width="1" height="5"/>
    <rect x="20.5" y="3" width="1" height="5"/>
  </g>
</svg>`;

export const teslaIcon = new LabIcon({ name: 'tesla-lab:icon', svgstr });
