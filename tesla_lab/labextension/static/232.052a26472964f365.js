"use strict";(self.rspackChunktesla_lab=self.rspackChunktesla_lab||[]).push([[232],{475(a,e,r){var o=r(601),t=r.n(o),n=r(314),p=(r.n(n))()(t());p.push([a.id,`/* TESLA Lab sidebar, status bar item and forms; colours come from the JupyterLab theme variables. */

.jp-TeslaLab-sidebar {
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  font-size: var(--jp-ui-font-size1);
  overflow-y: auto;
  min-width: 260px;
}

.jp-TeslaLab-header {
  display: flex;
  align-items: center;
  justify-content: space-between;
  padding: 6px 8px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
}

.jp-TeslaLab-title {
  font-weight: 600;
  text-transform: uppercase;
  font-size: var(--jp-ui-font-size0);
  letter-spacing: 0.5px;
}

.jp-TeslaLab-body {
  padding: 4px 8px 12px;
}

.jp-TeslaLab-toolbar {
  display: flex;
  gap: 6px;
  margin: 6px 0;
  flex-wrap: wrap;
}

.jp-TeslaLab-toolbar .jp-TeslaLab-button {
  margin-left: 0;
}

.jp-TeslaLab-button {
  border: var(--jp-border-width) solid var(--jp-border-color1);
  border-radius: 2px;
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color1);
  font-size: var(--jp-ui-font-size1);
  padding: 1px 8px;
  cursor: pointer;
  margin-left: 4px;
}

.jp-TeslaLab-button:hover {
  background: var(--jp-layout-color3);
}

.jp-TeslaLab-button.jp-mod-accept {
  background: var(--jp-brand-color1);
  border-color: var(--jp-brand-color1);
  color: white;
  margin-left: 0;
}

.jp-TeslaLab-button.jp-mod-warn {
  background: var(--jp-warn-color1);
  border-color: var(--jp-warn-color1);
  color: white;
}

.jp-TeslaLab-sectionTitle {
  font-size: var(--jp-ui-font-size1);
  font-weight: 600;
  margin: 10px 0 4px;
  color: var(--jp-ui-font-color2);
}

.jp-TeslaLab-count {
  font-weight: normal;
  color: var(--jp-ui-font-color3);
}

.jp-TeslaLab-list {
  list-style: none;
  margin: 0;
  padding: 0;
}

.jp-TeslaLab-run,
.jp-TeslaLab-item {
  padding: 4px 2px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color3);
}

.jp-TeslaLab-item,
.jp-TeslaLab-row {
  display: flex;
  align-items: center;
  gap: 6px;
}

.jp-TeslaLab-name {
  flex: 1 1 auto;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
}

.jp-TeslaLab-actions {
  display: flex;
  flex: none;
}

.jp-TeslaLab-meta,
.jp-TeslaLab-detail,
.jp-TeslaLab-empty {
  color: var(--jp-ui-font-color2);
  font-size: var(--jp-ui-font-size0);
}

.jp-TeslaLab-detail {
  display: flex;
  justify-content: space-between;
  padding-left: 14px;
}

.jp-TeslaLab-badge {
  font-size: var(--jp-ui-font-size0);
  border-radius: 8px;
  padding: 0 6px;
  background: var(--jp-layout-color3);
}

.jp-TeslaLab-dot {
  width: 8px;
  height: 8px;
  border-radius: 50%;
  flex: 0 0 8px;
  background: var(--jp-ui-font-color3);
}

.jp-TeslaLab-status-running .jp-TeslaLab-dot {
  background: var(--jp-brand-color1);
}

.jp-TeslaLab-status-queued .jp-TeslaLab-dot {
  background: var(--jp-warn-color2);
}

.jp-TeslaLab-status-finished .jp-TeslaLab-dot {
  background: var(--jp-success-color1);
}

.jp-TeslaLab-status-failed .jp-TeslaLab-dot {
  background: var(--jp-error-color1);
}

.jp-TeslaLab-progress {
  position: relative;
  height: 14px;
  margin: 3px 0 0 14px;
  background: var(--jp-layout-color3);
  border-radius: 2px;
  overflow: hidden;
}

.jp-TeslaLab-progressBar {
  height: 100%;
  background: var(--jp-brand-color3);
  transition: width 0.5s;
}

.jp-TeslaLab-progressText {
  position: absolute;
  inset: 0;
  font-size: var(--jp-ui-font-size0);
  line-height: 14px;
  text-align: center;
}

.jp-TeslaLab-error {
  color: var(--jp-error-color1);
  margin: 6px 0;
  white-space: pre-wrap;
}

.jp-TeslaLab-noProject {
  margin-top: 12px;
}

.jp-TeslaLab-statusText {
  cursor: pointer;
  padding: 0 4px;
}

.jp-TeslaLab-form {
  display: flex;
  flex-direction: column;
  gap: 6px;
  min-width: 320px;
}

.jp-TeslaLab-formRow {
  display: grid;
  grid-template-columns: 120px 1fr;
  align-items: center;
  gap: 8px;
}

/* crashed: its process died while it ran (kill -9, a reboot); not the same as a failure the run reported */
.jp-TeslaLab-status-crashed .jp-TeslaLab-dot {
  background: transparent;
  border: 2px solid var(--jp-error-color1);
  width: 4px;
  height: 4px;
  flex: 0 0 4px;
  transform: rotate(45deg);
  border-radius: 0;
}

.jp-TeslaLab-status-crashed .jp-TeslaLab-badge {
  background: var(--jp-error-color3);
  color: var(--jp-error-color0);
  font-style: italic;
}

.jp-TeslaLab-status-stopped .jp-TeslaLab-dot {
  background: var(--jp-warn-color1);
}

/* a run's name opens its page */
.jp-TeslaLab-link {
  background: none;
  border: none;
  padding: 0;
  color: var(--jp-content-link-color);
  font: inherit;
  text-align: left;
  cursor: pointer;
}

.jp-TeslaLab-link:hover {
  text-decoration: underline;
}

/* a model row: name and stage, its buttons on a line of their own when the sidebar is narrow (never cut off) */
.jp-TeslaLab-model {
  flex-wrap: wrap;
}

.jp-TeslaLab-modelActions {
  display: flex;
  flex-wrap: wrap;
  gap: 4px;
  margin-left: auto;
}

.jp-TeslaLab-modelActions .jp-TeslaLab-button {
  margin-left: 0;
  white-space: nowrap;
  flex: none;
}

.jp-TeslaLab-stage-production .jp-TeslaLab-badge {
  background: var(--jp-success-color1);
  color: white;
}

.jp-TeslaLab-stage-archived .jp-TeslaLab-name {
  color: var(--jp-ui-font-color3);
}

/* the form's validation errors */
.jp-TeslaLab-invalid {
  border-color: var(--jp-error-color1) !important;
}

.jp-TeslaLab-formError {
  color: var(--jp-error-color1);
  font-size: var(--jp-ui-font-size0);
  margin: -2px 0 4px 128px;
  white-space: pre-wrap;
}

/* a run's page */
.jp-TeslaLab-runPageWidget {
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  overflow: auto;
}

.jp-TeslaLab-runPage {
  padding: 12px 16px;
  font-size: var(--jp-ui-font-size1);
}

.jp-TeslaLab-runHeader {
  display: flex;
  align-items: center;
  flex-wrap: wrap;
  gap: 8px;
}

.jp-TeslaLab-runHeader h2 {
  margin: 0;
  font-size: var(--jp-ui-font-size3);
}

.jp-TeslaLab-charts {
  display: flex;
  flex-wrap: wrap;
  gap: 16px;
}

.jp-TeslaLab-chart {
  margin: 0;
}

.jp-TeslaLab-chart figcaption {
  font-weight: 600;
}

.jp-TeslaLab-chart text {
  fill: var(--jp-ui-font-color2);
  font-size: 10px;
}

.jp-TeslaLab-chartFrame {
  fill: none;
  stroke: var(--jp-border-color2);
}

.jp-TeslaLab-legend {
  display: flex;
  gap: 12px;
  font-size: var(--jp-ui-font-size0);
}

.jp-TeslaLab-columns {
  display: flex;
  flex-wrap: wrap;
  gap: 24px;
  align-items: flex-start;
}

.jp-TeslaLab-table {
  border-collapse: collapse;
}

.jp-TeslaLab-table th,
.jp-TeslaLab-table td {
  text-align: left;
  padding: 2px 10px 2px 0;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color3);
  font-weight: normal;
  max-width: 420px;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
}

.jp-TeslaLab-table th {
  color: var(--jp-ui-font-color2);
}

.jp-TeslaLab-table td {
  font-family: var(--jp-code-font-family);
}
`,""]),r.d(e,{},{A:p})},314(a){a.exports=function(a){var e=[];return e.toString=function(){return this.map(function(e){var r="",o=void 0!==e[5];return e[4]&&(r+="@supports (".concat(e[4],") {")),e[2]&&(r+="@media ".concat(e[2]," {")),o&&(r+="@layer".concat(e[5].length>0?" ".concat(e[5]):""," {")),r+=a(e),o&&(r+="}"),e[2]&&(r+="}"),e[4]&&(r+="}"),r}).join("")},e.i=function(a,r,o,t,n){"string"==typeof a&&(a=[[null,a,void 0]]);var p={};if(o)for(var l=0;l<this.length;l++){var s=this[l][0];null!=s&&(p[s]=!0)}for(var i=0;i<a.length;i++){var c=[].concat(a[i]);o&&p[c[0]]||(void 0!==n&&(void 0===c[5]||(c[1]="@layer".concat(c[5].length>0?" ".concat(c[5]):""," {").concat(c[1],"}")),c[5]=n),r&&(c[2]&&(c[1]="@media ".concat(c[2]," {").concat(c[1],"}")),c[2]=r),t&&(c[4]?(c[1]="@supports (".concat(c[4],") {").concat(c[1],"}"),c[4]=t):c[4]="".concat(t)),e.push(c))}},e}},601(a){a.exports=function(a){return a[1]}},72(a){var e=[];function r(a){for(var r=-1,o=0;o<e.length;o++)if(e[o].identifier===a){r=o;break}return r}function o(a,o){for(var t={},n=[],p=0;p<a.length;p++){var l=a[p],s=o.base?l[0]+o.base:l[0],i=t[s]||0,c="".concat(s," ").concat(i);t[s]=i+1;var d=r(c),u={css:l[1],media:l[2],sourceMap:l[3],supports:l[4],layer:l[5]};if(-1!==d)e[d].references++,e[d].updater(u);else{var b=function(a,e){var r=e.domAPI(e);return r.update(a),function(e){e?(e.css!==a.css||e.media!==a.media||e.sourceMap!==a.sourceMap||e.supports!==a.supports||e.layer!==a.layer)&&r.update(a=e):r.remove()}}(u,o);o.byIndex=p,e.splice(p,0,{identifier:c,updater:b,references:1})}n.push(c)}return n}a.exports=function(a,t){var n=o(a=a||[],t=t||{});return function(a){a=a||[];for(var p=0;p<n.length;p++){var l=r(n[p]);e[l].references--}for(var s=o(a,t),i=0;i<n.length;i++){var c=r(n[i]);0===e[c].references&&(e[c].updater(),e.splice(c,1))}n=s}}},659(a){var e={};a.exports=function(a,r){var o=function(a){if(void 0===e[a]){var r=document.querySelector(a);if(window.HTMLIFrameElement&&r instanceof window.HTMLIFrameElement)try{r=r.contentDocument.head}catch(a){r=null}e[a]=r}return e[a]}(a);if(!o)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");o.appendChild(r)}},540(a){a.exports=function(a){var e=document.createElement("style");return a.setAttributes(e,a.attributes),a.insert(e,a.options),e}},56(a,e,r){a.exports=function(a){var e=r.nc;e&&a.setAttribute("nonce",e)}},825(a){a.exports=function(a){if("u"<typeof document)return{update:function(){},remove:function(){}};var e=a.insertStyleElement(a);return{update:function(r){var o,t,n;o="",r.supports&&(o+="@supports (".concat(r.supports,") {")),r.media&&(o+="@media ".concat(r.media," {")),(t=void 0!==r.layer)&&(o+="@layer".concat(r.layer.length>0?" ".concat(r.layer):""," {")),o+=r.css,t&&(o+="}"),r.media&&(o+="}"),r.supports&&(o+="}"),(n=r.sourceMap)&&"u">typeof btoa&&(o+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(n))))," */")),a.styleTagTransform(o,e,a.options)},remove:function(){var a;null===(a=e).parentNode||a.parentNode.removeChild(a)}}}},113(a){a.exports=function(a,e){if(e.styleSheet)e.styleSheet.cssText=a;else{for(;e.firstChild;)e.removeChild(e.firstChild);e.appendChild(document.createTextNode(a))}}},579(a,e,r){var o=r(72),t=r.n(o),n=r(825),p=r.n(n),l=r(659),s=r.n(l),i=r(56),c=r.n(i),d=r(540),u=r.n(d),b=r(113),f=r.n(b),j=r(475),v={};v.styleTagTransform=f(),v.setAttributes=c(),v.insert=s().bind(null,"head"),v.domAPI=p(),v.insertStyleElement=u(),t()(j.A,v),j.A&&j.A.locals&&j.A.locals}}]);