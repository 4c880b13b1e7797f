/**
 * The sidebar's and status bar's shared state: the last overview from the server, refreshed by a poll that is
 * fast while a run is active and slow otherwise, plus the actions (each one a server call, then a refresh).
 */
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { Fetcher, IConfig, IDashboard, IOverview, IRunPage, ITemplate } from './types';

/** The server's answer to a create that needs the user's confirmation (a folder inside TESLA Lab's own checkout). */
export const CONFIRM_STATUS = 428;

/** The HTTP status of a failed server call (a `ServerConnection.ResponseError`), or null. */
export function errorStatus(reason: unknown): number | null {
  const status = (reason as { response?: { status?: unknown } } | null)?.response?.status;
  return typeof status === 'number' ? status : null;
}

/** What creating a project did: created, or refused until the user confirms (`confirm` is the server's reason). */
export interface ICreateResult {
  created: boolean;
  confirm: string | null;
}

const EMPTY: IOverview = {
  project: null,
  datasets: [],
  runs: [],
  models: [],
  notebooks: [],
  active: 0
};

export class TeslaModel {
  /**
   * @param fetch how to call the server extension (`requestAPI` bound to the app's server settings)
   * @param interval seconds between refreshes while a run is active; 10x that while none is
   */
  constructor(fetch: Fetcher, interval = 2) {
    this._fetch = fetch;
    this._interval = interval * 1000;
    this._poll = new Poll({
      factory: () => this.refresh(),
      frequency: { interval: this._idleInterval(), backoff: true, max: 60 * 1000 },
      name: 'tesla-lab:overview',
      standby: 'when-hidden',
      auto: false
    });
  }

  /** Emitted after every refresh (also a failed one: see `error`). */
  get changed(): ISignal<TeslaModel, void> {
    return this._changed;
  }

  get overview(): IOverview {
    return this._overview;
  }

  /** The last refresh's error text, or null when it worked. */
  get error(): string | null {
    return this._error;
  }

  get config(): IConfig | null {
    return this._config;
  }

  /** True once the first refresh came back (successful or not). */
  get loaded(): boolean {
    return this._loaded;
  }

  /** Fetch the settings (dashboard URL, poll interval) once, then the overview. */
  async start(): Promise<void> {
    try {
      this._config = await this._fetch<IConfig>('config');
      this._interval = this._config.poll_interval * 1000;
    } catch (reason) {
      this._error = String(reason);
    }
    if (this._poll.frequency.interval !== this._idleInterval()) {
      this._poll.frequency = { ...this._poll.frequency, interval: this._idleInterval() };
    }
    void this._poll.start();
    await this.refresh().catch(() => undefined); // the error is in `error`; the poll retries
  }

  /** Ask the server for the overview now. */
  async refresh(): Promise<void> {
    try {
      this._overview = await this._fetch<IOverview>('overview');
      this._error = null;
    } catch (reason) {
      this._error = reason instanceof Error ? reason.message : String(reason);
      this._loaded = true;
      this._changed.emit();
      throw reason; // the poll backs off
    } finally {
      this._loaded = true;
    }
    const interval = this._overview.active > 0 ? this._interval : this._idleInterval();
    if (this._poll.frequency.interval !== interval) {
      this._poll.frequency = { ...this._poll.frequency, interval };
    }
    this._changed.emit();
  }

  /** The poll's current interval in ms (fast while a run is active). */
  get pollInterval(): number {
    return this._poll.frequency.interval;
  }

  async stopRun(id: string): Promise<void> {
    await this._fetch(`runs/${encodeURIComponent(id)}/stop`, { method: 'POST' });
    await this.refresh();
  }

  /**
   * Create a project in the sidebar's folder. Inside a checkout of TESLA Lab itself the server refuses until
   * `confirm` is true: the result then carries its reason for the confirmation dialog and nothing was written.
   */
  async createProject(name: string, confirm = false): Promise<ICreateResult> {
    try {
      await this._fetch('project', { method: 'POST', body: JSON.stringify({ name, confirm }) });
    } catch (reason) {
      if (errorStatus(reason) === CONFIRM_STATUS) {
        return { created: false, confirm: reason instanceof Error ? reason.message : String(reason) };
      }
      throw reason;
    }
    await this.refresh();
    return { created: true, confirm: null };
  }

  /** Show the demo project (the one `make run` opens) in this sidebar. */
  async openDemo(): Promise<void> {
    await this._fetch('project/demo', { method: 'POST' });
    await this.refresh();
  }

  /** A run's page: params, last metrics, curves, its executed notebook. */
  async runPage(id: string): Promise<IRunPage> {
    return this._fetch<IRunPage>(`runs/${encodeURIComponent(id)}`);
  }

  /** Copy a run's executed notebook where JupyterLab opens it; resolves to its path under the server root. */
  async executedNotebook(id: string): Promise<string | null> {
    const answer = await this._fetch<{ path: string | null }>(`runs/${encodeURIComponent(id)}/notebook`, {
      method: 'POST'
    });
    return answer.path;
  }

  /** Move a registered model version to a stage (`production` archives the previous production version). */
  async setModelStage(name: string, version: number, stage: string): Promise<void> {
    await this._fetch(`models/${encodeURIComponent(name)}/${version}/stage`, {
      method: 'POST',
      body: JSON.stringify({ stage })
    });
    await this.refresh();
  }

  /** Each bad form value's error by parameter name (empty: all good), for the template or the notebook at `path`. */
  async validate(parameters: Record<string, string>, path?: string): Promise<Record<string, string>> {
    const answer = await this._fetch<{ errors: Record<string, string> }>('notebooks/validate', {
      method: 'POST',
      body: JSON.stringify({ parameters, path: path ?? null })
    });
    return answer.errors;
  }

  /** The papermill parameters of the training template, or of the notebook at `path` (under the server root). */
  async template(path?: string): Promise<ITemplate> {
    const query = path ? `?path=${encodeURIComponent(path)}` : '';
    return this._fetch<ITemplate>(`notebooks/template${query}`);
  }

  /** Create a notebook from the template; resolves to its path under the server root (null: outside it). */
  async createNotebook(parameters: Record<string, string>, name?: string): Promise<string | null> {
    const created = await this._fetch<{ path: string | null }>('notebooks', {
      method: 'POST',
      body: JSON.stringify({ parameters, name: name || null })
    });
    await this.refresh();
    return created.path;
  }

  /** Run a notebook (path under the server root) as a papermill batch job. */
  async runNotebook(path: string, parameters: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const job = await this._fetch<Record<string, unknown>>('jobs', {
      method: 'POST',
      body: JSON.stringify({ path, parameters })
    });
    await this.refresh();
    return job;
  }

  /** Where the dashboard of the sidebar's project is (not started: `url` null). */
  async dashboard(): Promise<IDashboard> {
    return this._fetch<IDashboard>('dashboard');
  }

  /** Start the dashboard of the sidebar's project (a running one is reused) and resolve to where it is. */
  async startDashboard(): Promise<IDashboard> {
    return this._fetch<IDashboard>('dashboard', { method: 'POST' });
  }

  dispose(): void {
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _idleInterval(): number {
    return this._interval * 10;
  }

  private _fetch: Fetcher;
  private _interval: number;
  private _poll: Poll;
  private _overview: IOverview = EMPTY;
  private _config: IConfig | null = null;
  private _error: string | null = null;
  private _loaded = false;
  private _changed = new Signal<TeslaModel, void>(this);
}
