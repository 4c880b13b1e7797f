/**
 * The run page's charts and tables as plain data: which metrics share a chart (a metric and its `val_` twin, never
 * loss with accuracy), the SVG path of a curve, and params as readable rows. No DOM here (jest tests it).
 */
import { ICurve } from './types';

export interface ISeries {
  name: string;
  steps: number[];
  values: (number | null)[];
}

export interface IChart {
  /** The metric the chart shows (`loss` for loss and val_loss). */
  title: string;
  series: ISeries[];
}

const PREFIXES = ['val_', 'train_'];

/** The metric a curve belongs to: `val_loss` and `loss` → `loss`. */
export function baseMetric(name: string): string {
  for (const prefix of PREFIXES) {
    if (name.startsWith(prefix) && name.length > prefix.length) {
      return name.slice(prefix.length);
    }
  }
  return name;
}

/**
 * One chart per metric with the training and validation curves together, sorted by title (loss first). Curves
 * of fewer than two points (the `test_` metrics logged once at the end) are left to the summary table.
 */
export function groupCurves(curves: Record<string, ICurve>): IChart[] {
  const charts = new Map<string, ISeries[]>();
  for (const name of Object.keys(curves).sort()) {
    const curve = curves[name];
    if (curve.steps.length < 2 || name.startsWith('test_')) {
      continue;
    }
    const title = baseMetric(name);
    const series = charts.get(title) ?? [];
    series.push({ name, steps: curve.steps, values: curve.values });
    charts.set(title, series);
  }
  const order = (t: string) => (t === 'loss' ? 0 : 1);
  return [...charts.entries()]
    .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
    .map(([title, series]) => ({ title, series: series.sort((a, b) => a.name.length - b.name.length) }));
}

export interface IBounds {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** The steps' and finite values' ranges over all series (a flat range is widened so it can be drawn). */
export function bounds(series: ISeries[]): IBounds {
  const xs = ([] as number[]).concat(...series.map(s => s.steps));
  const ys = ([] as (number | null)[])
    .concat(...series.map(s => s.values))
    .filter((v): v is number => v !== null && Number.isFinite(v));
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (y0 === y1) {
    [y0, y1] = [y0 - 0.5, y1 + 0.5];
  }
  let [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  if (x0 === x1) {
    [x0, x1] = [x0 - 0.5, x1 + 0.5];
  }
  return { x0, x1, y0, y1 };
}

/** An SVG path through the finite points of a series in a `width` x `height` box (y up); gaps break the line. */
export function linePath(s: ISeries, b: IBounds, width: number, height: number): string {
  const parts: string[] = [];
  let pen = 'M';
  s.steps.forEach((step, i) => {
    const v = s.values[i];
    if (v === null || !Number.isFinite(v)) {
      pen = 'M';
      return;
    }
    const x = ((step - b.x0) / (b.x1 - b.x0)) * width;
    const y = height - ((v - b.y0) / (b.y1 - b.y0)) * height;
    parts.push(`${pen}${x.toFixed(1)},${y.toFixed(1)}`);
    pen = 'L';
  });
  return parts.join(' ');
}

/** A param or config value as text: integers as integers (`32`, not `32.0`), objects as compact JSON. */
export function paramText(value: unknown): string {
  if (value === null || value === undefined) {
    return '–';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  }
  if (typeof value === 'object') {
    return JSON.stringify(value);
  }
  return String(value);
}

/** `[key, text]` rows sorted by key. */
export function paramRows(params: Record<string, unknown>): [string, string][] {
  return Object.keys(params)
    .sort()
    .map(k => [k, paramText(params[k])]);
}
