/**
 * A run's page in JupyterLab's main area: status and times, one chart per metric (training and validation
 * together), the last value of every metric, params and config, and for a papermill job its executed notebook.
 * Layout only: the data comes from the server (`runs/<id>`), the charts' geometry from chart.ts.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IChart, bounds, groupCurves, linePath, paramRows } from './chart';
import { formatNumber } from './format';
import { TeslaModel } from './model';
import { IRunPage } from './types';

const W = 320;
const H = 150;
const COLOURS = ['var(--jp-brand-color1)', 'var(--jp-warn-color1)', 'var(--jp-success-color1)'];

/** What the page's buttons do (index.ts binds them). */
export interface IRunPageActions {
  openNotebook(id: string): void;
  openRun(id: string): void;
}

function Chart(props: { chart: IChart }): JSX.Element {
  const { chart } = props;
  const b = bounds(chart.series);
  return (
    <figure className="jp-TeslaLab-chart" data-metric={chart.title}>
      <figcaption>{chart.title}</figcaption>
      <svg viewBox={`-44 -8 ${W + 52} ${H + 28}`} width={W + 52} height={H + 28} role="img" aria-label={chart.title}>
        <rect x={0} y={0} width={W} height={H} className="jp-TeslaLab-chartFrame" />
        <text x={-4} y={8} textAnchor="end">{formatNumber(b.y1)}</text>
        <text x={-4} y={H} textAnchor="end">{formatNumber(b.y0)}</text>
        <text x={0} y={H + 16}>{b.x0}</text>
        <text x={W} y={H + 16} textAnchor="end">epoch {b.x1}</text>
        {chart.series.map((s, i) => (
          <path key={s.name} d={linePath(s, b, W, H)} fill="none" stroke={COLOURS[i % COLOURS.length]} strokeWidth={2}>
            <title>{s.name}</title>
          </path>
        ))}
      </svg>
      <div className="jp-TeslaLab-legend">
        {chart.series.map((s, i) => (
          <span key={s.name} style={{ color: COLOURS[i % COLOURS.length] }}>
            ━ {s.name}
          </span>
        ))}
      </div>
    </figure>
  );
}

function Table(props: { rows: [string, string][]; empty: string }): JSX.Element {
  if (props.rows.length === 0) {
    return <div className="jp-TeslaLab-empty">{props.empty}</div>;
  }
  return (
    <table className="jp-TeslaLab-table">
      <tbody>
        {props.rows.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td title={v}>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Page(props: { page: IRunPage; actions: IRunPageActions }): JSX.Element {
  const { page, actions } = props;
  const charts = groupCurves(page.curves);
  const summary: [string, string][] = Object.keys(page.summary)
    .sort()
    .map(k => [k, formatNumber(page.summary[k])]);
  return (
    <div className={`jp-TeslaLab-runPage jp-TeslaLab-status-${page.status}`} data-run-id={page.id}>
      <header className="jp-TeslaLab-runHeader">
        <span className="jp-TeslaLab-dot" aria-hidden="true" />
        <h2>{page.name}</h2>
        <span className="jp-TeslaLab-badge">{page.status}</span>
        <span className="jp-TeslaLab-meta">
          {page.kind === 'notebook' ? 'notebook job' : 'training run'} · {page.id.slice(0, 8)}
          {page.device ? ` · ${page.device}` : ''}
          {page.resumed ? ` · resumed ${page.resumed}x` : ''}
        </span>
        {page.notebook && (
          <button className="jp-TeslaLab-button jp-mod-accept" onClick={() => actions.openNotebook(page.id)}>
            Open executed notebook
          </button>
        )}
        {page.training_run && (
          <button className="jp-TeslaLab-button" onClick={() => actions.openRun(page.training_run as string)}>
            Open training run
          </button>
        )}
      </header>
      {page.error && <pre className="jp-TeslaLab-error">{page.error}</pre>}
      <section>
        <h3 className="jp-TeslaLab-sectionTitle">Curves</h3>
        {charts.length === 0 ? (
          <div className="jp-TeslaLab-empty">no metric logged over two epochs or more yet</div>
        ) : (
          <div className="jp-TeslaLab-charts">
            {charts.map(c => (
              <Chart key={c.title} chart={c} />
            ))}
          </div>
        )}
      </section>
      <div className="jp-TeslaLab-columns">
        <section>
          <h3 className="jp-TeslaLab-sectionTitle">Metrics (last value)</h3>
          <Table rows={summary} empty="no metrics logged" />
        </section>
        <section>
          <h3 className="jp-TeslaLab-sectionTitle">Params</h3>
          <Table rows={paramRows(page.params)} empty="no params logged" />
        </section>
        <section>
          <h3 className="jp-TeslaLab-sectionTitle">Config</h3>
          <Table rows={paramRows(page.config)} empty="no config stored" />
        </section>
      </div>
    </div>
  );
}

/** The page of one run; refreshed every few seconds while the run is queued or running. */
export class RunPageWidget extends ReactWidget {
  constructor(model: TeslaModel, id: string, actions: IRunPageActions) {
    super();
    this._model = model;
    this._id = id;
    this._actions = actions;
    this.addClass('jp-TeslaLab-runPageWidget');
    void this.reload();
  }

  get runId(): string {
    return this._id;
  }

  async reload(): Promise<void> {
    if (this.isDisposed) {
      return;
    }
    try {
      this._page = await this._model.runPage(this._id);
      this._error = null;
    } catch (reason) {
      this._error = reason instanceof Error ? reason.message : String(reason);
    }
    if (this.isDisposed) {
      return;
    }
    this.title.label = this._page ? `Run ${this._page.name}` : `Run ${this._id.slice(0, 8)}`;
    this.update();
    const active = this._page?.status === 'running' || this._page?.status === 'queued';
    if (active) {
      this._timer = window.setTimeout(() => void this.reload(), 3000);
    }
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    super.dispose();
  }

  render(): JSX.Element {
    if (this._error) {
      return <div className="jp-TeslaLab-error">{this._error}</div>;
    }
    if (!this._page) {
      return <div className="jp-TeslaLab-empty">Loading…</div>;
    }
    return <Page page={this._page} actions={this._actions} />;
  }

  private _model: TeslaModel;
  private _id: string;
  private _actions: IRunPageActions;
  private _page: IRunPage | null = null;
  private _error: string | null = null;
  private _timer = 0;
}
