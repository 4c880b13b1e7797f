/**
 * Display strings for values the server computed (no computation of its own beyond formatting).
 */
import { IKeyMetric, IProgress, IRun } from './types';

/** `0.9134` → `0.913`, big or tiny numbers in exponent form, `null` → `–`. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '–';
  }
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e5 || abs < 1e-3)) {
    return value.toExponential(2);
  }
  return String(Number(value.toPrecision(3)));
}

/** `val_accuracy 0.913`, or '' when the run logged no metric. */
export function formatMetric(metric: IKeyMetric | null): string {
  return metric ? `${metric.name} ${formatNumber(metric.value)}` : '';
}

/** `3/10 epochs (30%)`, `3 epochs` when the total is unknown, '' without progress. */
export function formatProgress(progress: IProgress | null): string {
  if (!progress) {
    return '';
  }
  if (progress.total === null || progress.fraction === null) {
    return `${progress.done} epoch${progress.done === 1 ? '' : 's'}`;
  }
  return `${progress.done}/${progress.total} epochs (${Math.round(progress.fraction * 100)}%)`;
}

/** Seconds as `42s`, `3m 05s`, `2h 01m`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) {
    return '';
  }
  const s = Math.floor(seconds);
  if (s < 60) {
    return `${s}s`;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) {
    return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  }
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}

/** Whether the sidebar offers a Stop button for this run. */
export function canStop(run: IRun): boolean {
  return run.status === 'running' || run.status === 'queued';
}

/** The status bar text: `TESLA: 2 running` / `TESLA: idle`. */
export function statusText(active: number): string {
  return active > 0 ? `TESLA: ${active} running` : 'TESLA: idle';
}
