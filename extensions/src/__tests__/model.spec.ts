import { TeslaModel } from '../model';
import { IOverview } from '../types';

function overview(active: number): IOverview {
  return {
    project: { name: 'demo', path: '/tmp/demo' },
    datasets: [],
    runs: [],
    models: [],
    notebooks: [],
    active
  };
}

/** A fake server: answers by endpoint and records every call. */
function server(answers: Record<string, unknown>) {
  const calls: { endPoint: string; init?: RequestInit }[] = [];
  const fetch = async <T>(endPoint: string, init?: RequestInit): Promise<T> => {
    calls.push({ endPoint, init });
    const key = Object.keys(answers).find(k => endPoint.startsWith(k));
    if (key === undefined) {
      throw new Error(`unexpected call ${endPoint}`);
    }
    const answer = answers[key];
    if (answer instanceof Error) {
      throw answer;
    }
    return (typeof answer === 'function' ? answer() : answer) as T;
  };
  return { fetch, calls };
}

describe('TeslaModel', () => {
  let model: TeslaModel | null = null;
  afterEach(() => model?.dispose());

  it('loads the config and the overview, then polls fast while a run is active', async () => {
    let active = 0;
    const { fetch } = server({
      config: { dashboard_url: 'http://x/', poll_interval: 1, project_dir: '/p', template: 't' },
      overview: () => overview(active)
    });
    model = new TeslaModel(fetch, 5);
    let changes = 0;
    model.changed.connect(() => changes++);

    await model.start();
    expect(model.config?.dashboard_url).toBe('http://x/');
    expect(model.overview.project?.name).toBe('demo');
    expect(model.pollInterval).toBe(10000); // idle: 10x the configured 1 s
    expect(changes).toBeGreaterThan(0);

    active = 1;
    await model.refresh();
    expect(model.pollInterval).toBe(1000);
  });

  it('keeps the error text when the server fails and clears it on the next success', async () => {
    let fail = true;
    const { fetch } = server({
      overview: () => {
        if (fail) {
          throw new Error('no TESLA project');
        }
        return overview(0);
      }
    });
    model = new TeslaModel(fetch);
    await expect(model.refresh()).rejects.toThrow('no TESLA project');
    expect(model.error).toBe('no TESLA project');
    expect(model.loaded).toBe(true);
    fail = false;
    await model.refresh();
    expect(model.error).toBeNull();
  });

  it('stops a run with a POST to its stop route and refreshes', async () => {
    const { fetch, calls } = server({ 'runs/': {}, overview: overview(0) });
    model = new TeslaModel(fetch);
    await model.stopRun('ab/c');
    expect(calls[0].endPoint).toBe('runs/ab%2Fc/stop');
    expect(calls[0].init?.method).toBe('POST');
    expect(calls[1].endPoint).toBe('overview');
  });

  it('sends only the given parameters when creating a notebook and returns its path', async () => {
    const { fetch, calls } = server({ notebooks: { path: 'notebooks/train-1.ipynb' }, overview: overview(0) });
    model = new TeslaModel(fetch);
    const path = await model.createNotebook({ epochs: '3' }, 'mine');
    expect(path).toBe('notebooks/train-1.ipynb');
    expect(JSON.parse(String(calls[0].init?.body))).toEqual({ parameters: { epochs: '3' }, name: 'mine' });
  });

  it('asks for the parameters of a given notebook by its path', async () => {
    const { fetch, calls } = server({ 'notebooks/template': { template: 'x', parameters: [] } });
    model = new TeslaModel(fetch);
    await model.template('a b.ipynb');
    expect(calls[0].endPoint).toBe('notebooks/template?path=a%20b.ipynb');
  });
});

describe('TeslaModel actions of the clickable sidebar', () => {
  let model: TeslaModel | null = null;
  afterEach(() => model?.dispose());

  it('asks for a confirmation when the server answers 428, and creates with confirm: true', async () => {
    let confirmed = false;
    const refusal = Object.assign(new Error('inside a checkout of TESLA Lab'), { response: { status: 428 } });
    const { fetch, calls } = server({
      project: () => {
        if (!confirmed) {
          confirmed = true;
          throw refusal;
        }
        return { name: 'p', path: '/p' };
      },
      overview: overview(0)
    });
    model = new TeslaModel(fetch);
    expect(await model.createProject('')).toEqual({ created: false, confirm: 'inside a checkout of TESLA Lab' });
    expect(await model.createProject('', true)).toEqual({ created: true, confirm: null });
    expect(JSON.parse(String(calls[1].init?.body))).toEqual({ name: '', confirm: true });
  });

  it('passes other errors of create on', async () => {
    const { fetch } = server({ project: Object.assign(new Error('boom'), { response: { status: 500 } }) });
    model = new TeslaModel(fetch);
    await expect(model.createProject('')).rejects.toThrow('boom');
  });

  it('calls the run page, executed notebook, model stage, validation, demo and dashboard routes', async () => {
    const { fetch, calls } = server({
      'runs/': { path: 'notebooks/executed/a.ipynb', id: 'x' },
      'models/': {},
      'notebooks/validate': { errors: { epochs: 'bad' } },
      'project/demo': {},
      dashboard: { url: 'http://127.0.0.1:1/', managed: true },
      overview: overview(0)
    });
    model = new TeslaModel(fetch);
    await model.runPage('a/b');
    expect(await model.executedNotebook('r1')).toBe('notebooks/executed/a.ipynb');
    await model.setModelStage('my model', 2, 'production');
    expect(await model.validate({ epochs: 'x' }, 'n.ipynb')).toEqual({ epochs: 'bad' });
    await model.openDemo();
    await model.startDashboard();
    const sent = calls.map(c => [c.endPoint, c.init?.method ?? 'GET']);
    expect(sent).toEqual([
      ['runs/a%2Fb', 'GET'],
      ['runs/r1/notebook', 'POST'],
      ['models/my%20model/2/stage', 'POST'],
      ['overview', 'GET'],
      ['notebooks/validate', 'POST'],
      ['project/demo', 'POST'],
      ['overview', 'GET'],
      ['dashboard', 'POST']
    ]);
    expect(JSON.parse(String(calls[2].init?.body))).toEqual({ stage: 'production' });
    expect(JSON.parse(String(calls[4].init?.body))).toEqual({ parameters: { epochs: 'x' }, path: 'n.ipynb' });
  });
});
