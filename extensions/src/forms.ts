/**
 * The parameter form of the "new training notebook" and "run as job" dialogs: one text field per papermill
 * parameter, prefilled with the notebook's default; only edited fields are sent (the server coerces the text to
 * each parameter's declared type, so an untouched default expression is never re-sent as text).
 */
import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { IParameter } from './types';

export interface IFormValue {
  name: string;
  parameters: Record<string, string>;
}

export class ParameterForm extends Widget implements Dialog.IBodyWidget<IFormValue> {
  /**
   * @param parameters the notebook's parameters (server: `notebooks/template`)
   * @param withName whether to ask for the new notebook's file name
   */
  constructor(parameters: IParameter[], withName: boolean) {
    super();
    this.addClass('jp-TeslaLab-form');
    if (withName) {
      this._name = this._field('notebook name', '', 'empty: train-<date>-<time>.ipynb', 'tesla-name');
    }
    if (parameters.length === 0) {
      const note = document.createElement('p');
      note.textContent = 'This notebook has no cell tagged "parameters".';
      this.node.appendChild(note);
    }
    for (const p of parameters) {
      const initial = p.value ?? '';
      const input = this._field(p.name, initial, `${p.type}${p.help ? ' – ' + p.help : ''}`, `tesla-param-${p.name}`);
      this._inputs.push({ name: p.name, initial, input });
    }
  }

  getValue(): IFormValue {
    const parameters: Record<string, string> = {};
    for (const { name, initial, input } of this._inputs) {
      if (input.value !== initial) {
        parameters[name] = input.value;
      }
    }
    return { name: this._name?.value.trim() ?? '', parameters };
  }

  private _field(label: string, value: string, hint: string, id: string): HTMLInputElement {
    const row = document.createElement('label');
    row.className = 'jp-TeslaLab-formRow';
    const text = document.createElement('span');
    text.textContent = label;
    const input = document.createElement('input');
    input.className = 'jp-mod-styled';
    input.value = value;
    input.placeholder = hint;
    input.title = hint;
    input.dataset.param = id;
    row.append(text, input);
    this.node.appendChild(row);
    return input;
  }

  private _inputs: { name: string; initial: string; input: HTMLInputElement }[] = [];
  private _name: HTMLInputElement | null = null;
}
