/**
 * The notebook parameter form's logic, apart from its DOM (jest tests it): which parameters the form shows and
 * which values it sends.
 */
import { IParameter } from './types';

/** The parameters a person fills in: not those the notebook runner sets itself (`project_dir`, `tesla_run_id`). */
export function visibleParameters(parameters: IParameter[]): IParameter[] {
  return parameters.filter(p => !p.internal);
}

/**
 * The values to send: only fields whose text differs from what the form started with (the server coerces text
 * to each parameter's type, so an untouched default, or an empty `None`, is never re-sent as text).
 */
export function changedValues(fields: { name: string; initial: string; value: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name, initial, value } of fields) {
    if (value !== initial) {
      out[name] = value;
    }
  }
  return out;
}
