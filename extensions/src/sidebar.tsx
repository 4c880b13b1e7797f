/**
 * The left sidebar: the project's runs (status, key metric, live progress, Stop; a click opens the run's page),
 * datasets, registered models (promote to production, archive) and notebooks. In a folder without a project it
 * offers to create one there or to open the demo project. Layout only: it shows what the model holds and hands
 * every click to an action.
 */
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';

import { canStop, formatDuration, formatMetric, formatProgress, statusText } from './format';
import { TeslaModel } from './model';
import { IDataset, IModel, INotebook, IRun } from './types';

/** What the sidebar's buttons do (index.ts binds them to commands). */
export interface ISidebarActions {
  openDashboard(): void;
  newNotebook(): void;
  runNotebook(path: string): void;
  openFile(path: string): void;
  stopRun(run: IRun): void;
  openRun(run: IRun): void;
  setModelStage(model: IModel, stage: 'production' | 'archived'): void;
  createProject(): void;
  openDemo(): void;
}

function Section(props: { title: string; count: number; children: React.ReactNode }): JSX.Element {
  return (
    <section className="jp-TeslaLab-section">
      <h3 className="jp-TeslaLab-sectionTitle">
        {props.title} <span className="jp-TeslaLab-count">{props.count}</span>
      </h3>
      {props.count === 0 ? <div className="jp-TeslaLab-empty">none yet</div> : props.children}
    </section>
  );
}

function RunRow(props: { run: IRun; actions: ISidebarActions }): JSX.Element {
  const { run, actions } = props;
  const fraction = run.progress?.fraction;
  return (
    <li className={`jp-TeslaLab-run jp-TeslaLab-status-${run.status}`} data-run-id={run.id} title={run.id}>
      <div className="jp-TeslaLab-row">
        <span className="jp-TeslaLab-dot" aria-hidden="true" />
        <button
          className="jp-TeslaLab-name jp-TeslaLab-link"
          onClick={() => actions.openRun(run)}
          title={`Open the page of run ${run.name} (${run.id.slice(0, 8)}): curves, params, metrics`}
        >
          {run.name}
        </button>
        <span className="jp-TeslaLab-badge">{run.status}</span>
        {canStop(run) && (
          <button className="jp-TeslaLab-button jp-mod-warn" onClick={() => actions.stopRun(run)} title="Stop this run">
            Stop
          </button>
        )}
      </div>
      <div className="jp-TeslaLab-detail">
        <span>{formatMetric(run.key_metric)}</span>
        <span>{formatDuration(run.duration)}</span>
      </div>
      {run.progress && (
        <div className="jp-TeslaLab-progress" title={formatProgress(run.progress)}>
          <div className="jp-TeslaLab-progressBar" style={{ width: `${Math.round((fraction ?? 0) * 100)}%` }} />
          <span className="jp-TeslaLab-progressText">{formatProgress(run.progress)}</span>
        </div>
      )}
    </li>
  );
}

function DatasetRow(props: { dataset: IDataset }): JSX.Element {
  const d = props.dataset;
  return (
    <li className="jp-TeslaLab-item jp-TeslaLab-dataset">
      <span className="jp-TeslaLab-name">{d.name}</span>
      <span className="jp-TeslaLab-meta">
        v{d.head} · {d.n_rows ?? '?'}×{d.n_cols ?? '?'}
      </span>
    </li>
  );
}

function ModelRow(props: { model: IModel; actions: ISidebarActions }): JSX.Element {
  const { model: m, actions } = props;
  return (
    <li className={`jp-TeslaLab-item jp-TeslaLab-model jp-TeslaLab-stage-${m.stage}`} data-model={`${m.name}:${m.version}`}>
      <span className="jp-TeslaLab-name" title={m.description ?? undefined}>
        {m.name} v{m.version}
      </span>
      <span className="jp-TeslaLab-badge">{m.stage}</span>
      <span className="jp-TeslaLab-modelActions">
        {m.stage !== 'production' && (
          <button className="jp-TeslaLab-button jp-mod-accept" onClick={() => actions.setModelStage(m, 'production')}>
            Promote to production
          </button>
        )}
        {m.stage !== 'archived' && (
          <button className="jp-TeslaLab-button" onClick={() => actions.setModelStage(m, 'archived')}>
            Archive
          </button>
        )}
      </span>
    </li>
  );
}

function NotebookRow(props: { notebook: INotebook; actions: ISidebarActions }): JSX.Element {
  const { notebook, actions } = props;
  const path = notebook.path;
  return (
    <li className="jp-TeslaLab-item jp-TeslaLab-notebook" title={notebook.name}>
      <span className="jp-TeslaLab-name">{notebook.name.split('/').pop()}</span>
      {path !== null && (
        <span className="jp-TeslaLab-actions">
          <button className="jp-TeslaLab-button" onClick={() => actions.openFile(path)}>
            Open
          </button>
          <button className="jp-TeslaLab-button" onClick={() => actions.runNotebook(path)} title="Run as a papermill job">
            Run
          </button>
        </span>
      )}
    </li>
  );
}

function Panel(props: { model: TeslaModel; actions: ISidebarActions }): JSX.Element {
  const { model, actions } = props;
  const o = model.overview;
  if (!model.loaded) {
    return <div className="jp-TeslaLab-empty">Loading…</div>;
  }
  return (
    <div className="jp-TeslaLab-body">
      {model.error && <div className="jp-TeslaLab-error">{model.error}</div>}
      {o.project === null && !model.error ? (
        <div className="jp-TeslaLab-noProject">
          <p>No TESLA project in {o.project_dir ?? 'this folder'}.</p>
          <div className="jp-TeslaLab-toolbar">
            <button
              className="jp-TeslaLab-button jp-mod-accept"
              onClick={() => actions.createProject()}
              title="tesla init here: tesla.yaml, .tesla/ and the starter notebooks"
            >
              Create project here
            </button>
            <button
              className="jp-TeslaLab-button"
              onClick={() => actions.openDemo()}
              title="The demo project with the digits sample (what `make run` opens)"
            >
              Open demo project
            </button>
          </div>
        </div>
      ) : (
        o.project !== null && (
          <>
            <div className="jp-TeslaLab-toolbar">
              <button className="jp-TeslaLab-button jp-mod-accept" onClick={() => actions.newNotebook()}>
                New training notebook
              </button>
              <button className="jp-TeslaLab-button" onClick={() => actions.openDashboard()}>
                Dashboard
              </button>
            </div>
            <Section title="Runs" count={o.runs.length}>
              <ul className="jp-TeslaLab-list">
                {o.runs.map(r => (
                  <RunRow key={r.id} run={r} actions={actions} />
                ))}
              </ul>
            </Section>
            <Section title="Datasets" count={o.datasets.length}>
              <ul className="jp-TeslaLab-list">
                {o.datasets.map(d => (
                  <DatasetRow key={d.name} dataset={d} />
                ))}
              </ul>
            </Section>
            <Section title="Models" count={o.models.length}>
              <ul className="jp-TeslaLab-list">
                {o.models.map(m => (
                  <ModelRow key={`${m.name}:${m.version}`} model={m} actions={actions} />
                ))}
              </ul>
            </Section>
            <Section title="Notebooks" count={o.notebooks.length}>
              <ul className="jp-TeslaLab-list">
                {o.notebooks.map(n => (
                  <NotebookRow key={n.name} notebook={n} actions={actions} />
                ))}
              </ul>
            </Section>
          </>
        )
      )}
    </div>
  );
}

export class TeslaSidebar extends ReactWidget {
  constructor(model: TeslaModel, actions: ISidebarActions) {
    super();
    this._model = model;
    this._actions = actions;
    this.addClass('jp-TeslaLab-sidebar');
  }

  render(): JSX.Element {
    return (
      <div className="jp-TeslaLab-panel">
        <header className="jp-TeslaLab-header">
          <span className="jp-TeslaLab-title">
            TESLA Lab
            <UseSignal signal={this._model.changed}>
              {() => (this._model.overview.project ? `: ${this._model.overview.project.name}` : '')}
            </UseSignal>
          </span>
          <button className="jp-TeslaLab-button" title="Refresh" onClick={() => void this._model.refresh().catch(() => undefined)}>
            ⟳
          </button>
        </header>
        <UseSignal signal={this._model.changed}>{() => <Panel model={this._model} actions={this._actions} />}</UseSignal>
      </div>
    );
  }

  private _model: TeslaModel;
  private _actions: ISidebarActions;
}

/** The status bar item: how many runs are queued or running. */
export class TeslaStatus extends ReactWidget {
  constructor(model: TeslaModel, onClick: () => void) {
    super();
    this._model = model;
    this._onClick = onClick;
    this.addClass('jp-TeslaLab-status');
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this._model.changed}>
        {() => (
          <span className="jp-TeslaLab-statusText" onClick={this._onClick} title="TESLA Lab runs (click: sidebar)">
            {statusText(this._model.overview.active)}
          </span>
        )}
      </UseSignal>
    );
  }

  private _model: TeslaModel;
  private _onClick: () => void;
}
