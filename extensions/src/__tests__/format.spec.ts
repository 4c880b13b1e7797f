import { canStop, formatDuration, formatMetric, formatNumber, formatProgress, statusText } from '../format';
import { IRun } from '../types';

describe('format', () => {
  it('shows numbers with three significant digits and missing ones as a dash', () => {
    expect(formatNumber(0.91344)).toBe('0.913');
    expect(formatNumber(12.5)).toBe('12.5');
    expect(formatNumber(123456)).toBe('1.23e+5');
    expect(formatNumber(null)).toBe('–');
    expect(formatNumber(NaN)).toBe('–');
  });

  it('names the key metric with its value', () => {
    expect(formatMetric({ name: 'val_accuracy', value: 0.9 })).toBe('val_accuracy 0.9');
    expect(formatMetric(null)).toBe('');
  });

  it('shows progress against the planned epochs, or the count when none is planned', () => {
    expect(formatProgress({ done: 3, total: 10, fraction: 0.3 })).toBe('3/10 epochs (30%)');
    expect(formatProgress({ done: 1, total: null, fraction: null })).toBe('1 epoch');
    expect(formatProgress(null)).toBe('');
  });

  it('formats durations in s, m and h', () => {
    expect(formatDuration(42.7)).toBe('42s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(7260)).toBe('2h 01m');
    expect(formatDuration(null)).toBe('');
  });

  it('offers Stop only for queued and running runs', () => {
    const run = (status: IRun['status']) => ({ status }) as IRun;
    expect(canStop(run('running'))).toBe(true);
    expect(canStop(run('queued'))).toBe(true);
    expect(canStop(run('finished'))).toBe(false);
    expect(canStop(run('crashed'))).toBe(false);
  });

  it('says how many runs are active in the status bar', () => {
    expect(statusText(2)).toBe('TESLA: 2 running');
    expect(statusText(0)).toBe('TESLA: idle');
  });
});
