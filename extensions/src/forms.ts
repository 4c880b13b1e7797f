/**
 * The parameter form of the "new training notebook" and "run as job" dialogs: one text field per papermill
 * parameter a person fills in (the runner's own `project_dir` and `tesla_run_id` are not shown), prefilled with the
 * notebook's default (`None` as an empty field); only edited fields are sent (the server coerces the text to each
 * parameter's declared type). The server's validation errors show under their fields when the dialog reopens.
 */
import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { changedValues, visibleParameters } from './params';
import { IParameter } from './types';

export interface IFormValue {
  name: string;
  parameters: Record<string, string>;
}

export class ParameterForm extends Widget implements Dialog.IBodyWidget<IFormValue> {
  /**
   * @param parameters the notebook's parameters (server: `notebooks/template`)
   * @param withName whether to ask for the new notebook's file name
   * @param previous what the person typed before (the dialog reopens after a failed validation)
   * @param errors the server's error for each bad value, shown under its field
   */
  constructor(
    parameters: IParameter[],
    withName: boolean,
    previous: IFormValue | null = null,
    errors: Record<string, string> = {}
  ) {
    super();
    this.addClass('jp-TeslaLab-form');
    if (withName) {
      this._name = this._field('notebook name', '', 'empty: train-<date>-<time>.ipynb', 'tesla-name', null);
      this._name.value = previous?.name ?? '';
    }
    const shown = visibleParameters(parameters);
    if (shown.length === 0) {
      const note = document.createElement('p');
      note.textContent = 'This notebook has no cell tagged "parameters".';
      this.node.appendChild(note);
    }
    for (const p of shown) {
      const initial = p.value ?? '';
      const hint = `${p.type === 'None' ? 'empty: None' : p.type}${p.help ? ' – ' + p.help : ''}`;
      const input = this._field(p.name, initial, hint, `tesla-param-${p.name}`, errors[p.name] ?? null);
      const typed = previous?.parameters[p.name];
      if (typed !== undefined) {
        input.value = typed;
      }
      this._inputs.push({ name: p.name, initial, input });
    }
    const unknown = Object.keys(errors).filter(name => !shown.some(p => p.name === name));
    for (const name of unknown) {
      this._error(errors[name]);
    }
  }

  getValue(): IFormValue {
    const fields = this._inputs.map(({ name, initial, input }) => ({ name, initial, value: input.value }));
    return { name: this._name?.value.trim() ?? '', parameters: changedValues(fields) };
  }

  private _field(label: string, value: string, hint: string, id: string, error: string | null): HTMLInputElement {
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
    if (error) {
      input.classList.add('jp-TeslaLab-invalid');
      this._error(error).dataset.param = id;
    }
    return input;
  }

  private _error(message: string): HTMLElement {
    const note = document.createElement('div');
    note.className = 'jp-TeslaLab-formError';
    note.textContent = message;
    this.node.appendChild(note);
    return note;
  }

  private _inputs: { name: string; initial: string; input: HTMLInputElement }[] = [];
  private _name: HTMLInputElement | null = null;
}
