/**
 * The JSON the server extension answers (tesla_lab/jupyter/api.py builds it; see its docstrings).
 */

export interface IKeyMetric {
  name: string;
  value: number | null;
}

export interface IProgress {
  /** Epochs done: the last logged step + 1. */
  done: number;
  /** Epochs planned (the run's `epochs` param or config), or null when unknown. */
  total: number | null;
  /** done / total in [0, 1], or null when total is unknown. */
  fraction: number | null;
}

/** `crashed`: its process died (kill -9, a reboot) while it ran; found when the project is next opened. */
export type RunStatus = 'queued' | 'running' | 'finished' | 'failed' | 'stopped' | 'crashed';

export interface IRun {
  id: string;
  name: string;
  status: RunStatus;
  created: string | null;
  duration: number | null;
  device: string | null;
  dataset: string | null;
  dataset_version: number | null;
  key_metric: IKeyMetric | null;
  progress: IProgress | null;
}

export interface IDataset {
  name: string;
  head: number;
  versions: number;
  n_rows: number | null;
  n_cols: number | null;
  updated: string | null;
}

export interface IModel {
  name: string;
  version: number;
  stage: string;
  run_id: string | null;
  created: string | null;
  description: string | null;
}

export interface INotebook {
  /** Path relative to the project. */
  name: string;
  /** Path relative to the Jupyter server root (what JupyterLab opens), or null when outside it. */
  path: string | null;
}

export interface IOverview {
  project: { name: string; path: string } | null;
  project_dir?: string;
  datasets: IDataset[];
  runs: IRun[];
  models: IModel[];
  notebooks: INotebook[];
  /** Queued or running runs. */
  active: number;
}

export interface IConfig {
  dashboard_url: string;
  poll_interval: number;
  project_dir: string;
  template: string;
}

export interface IParameter {
  name: string;
  type: string;
  /** The default's source text. */
  default: string | null;
  help: string;
  /** The text the form field starts with (a str default without its quotes; empty for None). */
  value: string;
  /** Filled in by the notebook runner (project_dir, tesla_run_id): the forms do not show it. */
  internal?: boolean;
}

/** A metric's logged values (one per epoch). */
export interface ICurve {
  steps: number[];
  values: (number | null)[];
}

/** A run's page (server: `runs/<id>`). */
export interface IRunPage {
  id: string;
  name: string;
  status: RunStatus;
  /** `train` or `notebook` (a papermill job). */
  kind: string;
  created: string | null;
  started: string | null;
  ended: string | null;
  device: string | null;
  error: string | null;
  resumed: number | null;
  params: Record<string, unknown>;
  config: Record<string, unknown>;
  /** The last value of every metric. */
  summary: Record<string, number | null>;
  curves: Record<string, ICurve>;
  artifacts: string[];
  /** Whether an executed notebook is stored with the run. */
  notebook: boolean;
  /** The training run a notebook job started. */
  training_run: string | null;
  notebook_source: string | null;
}

/** Where the dashboard of the sidebar's project is (server: `dashboard`). */
export interface IDashboard {
  url: string | null;
  reachable: boolean;
  hint: string | null;
  /** true: the server extension serves the sidebar's project itself. */
  managed: boolean;
  project: string | null;
}

export interface ITemplate {
  template: string;
  parameters: IParameter[];
}

/** How the model reaches the server: `requestAPI` bound to the server settings in the app, a mock in tests. */
export type Fetcher = <T>(endPoint: string, init?: RequestInit) => Promise<T>;
