import { baseMetric, bounds, groupCurves, linePath, paramRows, paramText } from '../chart';
import { changedValues, visibleParameters } from '../params';
import { IParameter } from '../types';

describe('chart', () => {
  it('puts a metric and its validation twin in one chart, never loss with accuracy, loss first', () => {
    const c = (values: number[]) => ({ steps: values.map((_, i) => i), values });
    const charts = groupCurves({
      val_accuracy: c([0.5, 0.7]),
      loss: c([1, 0.5]),
      accuracy: c([0.4, 0.8]),
      val_loss: c([1.2, 0.7]),
      test_accuracy: { steps: [1], values: [0.75] },
      samples_per_s: c([100, 110])
    });
    expect(charts.map(ch => [ch.title, ch.series.map(s => s.name)])).toEqual([
      ['loss', ['loss', 'val_loss']],
      ['accuracy', ['accuracy', 'val_accuracy']],
      ['samples_per_s', ['samples_per_s']]
    ]);
    expect(baseMetric('val_loss')).toBe('loss');
    expect(baseMetric('val_')).toBe('val_');
  });

  it('draws a curve in its box with y up and breaks the line at a missing value', () => {
    const series = { name: 'loss', steps: [0, 1, 2, 3], values: [1, 0.5, null, 0] };
    const b = bounds([series]);
    expect(b).toEqual({ x0: 0, x1: 3, y0: 0, y1: 1 });
    expect(linePath(series, b, 300, 100)).toBe('M0.0,0.0 L100.0,50.0 M300.0,100.0');
  });

  it('widens a flat range so a constant curve can be drawn', () => {
    expect(bounds([{ name: 'a', steps: [4], values: [2] }])).toEqual({ x0: 3.5, x1: 4.5, y0: 1.5, y1: 2.5 });
  });

  it('shows integers as integers and objects as JSON in the params table', () => {
    expect(paramText(32)).toBe('32');
    expect(paramText(0.1 + 0.2)).toBe('0.3');
    expect(paramText({ hidden: [32, 16] })).toBe('{"hidden":[32,16]}');
    expect(paramText(null)).toBe('–');
    expect(paramRows({ lr: 0.01, epochs: 10 })).toEqual([
      ['epochs', '10'],
      ['lr', '0.01']
    ]);
  });
});

describe('parameter form', () => {
  const p = (name: string, value: string, internal = false): IParameter => ({
    name,
    type: 'str',
    default: null,
    help: '',
    value,
    internal
  });

  it("hides the runner's own parameters", () => {
    const shown = visibleParameters([p('epochs', '10'), p('project_dir', '.', true), p('tesla_run_id', '', true)]);
    expect(shown.map(x => x.name)).toEqual(['epochs']);
  });

  it('sends only the edited fields (an empty None field left alone is not sent)', () => {
    expect(
      changedValues([
        { name: 'epochs', initial: '10', value: '12' },
        { name: 'target', initial: '', value: '' },
        { name: 'lr', initial: '0.01', value: '0.01' }
      ])
    ).toEqual({ epochs: '12' });
  });
});
