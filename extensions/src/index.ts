/**
 * TESLA Lab for JupyterLab: a launcher card, a left sidebar (runs, datasets, models, notebooks), a status bar item
 * with the running jobs, and commands to open the Panel dashboard of the sidebar's project, open a run's page,
 * promote or archive a model, create a training notebook from the project's template, run a notebook as a
 * papermill job and stop a run. Every action is one call to the server extension (tesla_lab/jupyter), which calls
 * the library.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  Notification,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { IStatusBar } from '@jupyterlab/statusbar';
import { IFrame, ToolbarButton, refreshIcon } from '@jupyterlab/ui-components';

import { IFormValue, ParameterForm } from './forms';
import { teslaIcon } from './icon';
import { TeslaModel } from './model';
import { requestAPI } from './request';
import { RunPageWidget } from './runpage';
import { TeslaSidebar, TeslaStatus } from './sidebar';
import { Fetcher, IModel, IRun, ITemplate } from './types';

export namespace CommandIDs {
  export const openSidebar = 'tesla-lab:open-sidebar';
  export const openDashboard = 'tesla-lab:open-dashboard';
  export const newNotebook = 'tesla-lab:new-training-notebook';
  export const runNotebook = 'tesla-lab:run-notebook';
  export const stopRun = 'tesla-lab:stop-run';
  export const openRun = 'tesla-lab:open-run';
  export const openExecutedNotebook = 'tesla-lab:open-executed-notebook';
  export const setModelStage = 'tesla-lab:set-model-stage';
  export const refresh = 'tesla-lab:refresh';
}

const CATEGORY = 'TESLA Lab';

function message(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/**
 * Ask for parameter values and have the server check them; the dialog reopens with the errors under their fields
 * until every value is valid. Null when cancelled.
 */
async function askParameters(
  title: string,
  template: ITemplate,
  withName: boolean,
  ok: string,
  validate: (parameters: Record<string, string>) => Promise<Record<string, string>>
): Promise<IFormValue | null> {
  let previous: IFormValue | null = null;
  let errors: Record<string, string> = {};
  for (;;) {
    const result: Dialog.IResult<IFormValue> = await showDialog<IFormValue>({
      title,
      body: new ParameterForm(template.parameters, withName, previous, errors),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: ok })],
      focusNodeSelector: 'input'
    });
    if (!result.button.accept || !result.value) {
      return null;
    }
    previous = result.value;
    errors = await validate(result.value.parameters);
    if (Object.keys(errors).length === 0) {
      return result.value;
    }
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'tesla-lab:plugin',
  description: 'TESLA Lab: tensor-network training runs, datasets and models in JupyterLab.',
  autoStart: true,
  optional: [ILauncher, ICommandPalette, IStatusBar, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null,
    restorer: ILayoutRestorer | null
  ) => {
    const settings = app.serviceManager.serverSettings;
    const fetch: Fetcher = <T>(endPoint: string, init?: RequestInit) => requestAPI<T>(endPoint, settings, init);
    const model = new TeslaModel(fetch);
    const { commands, shell } = app;
    let dashboard: MainAreaWidget<IFrame> | null = null;
    let dashboardProject: string | null = null;
    const runPages = new Map<string, MainAreaWidget<RunPageWidget>>();

    const sidebar = new TeslaSidebar(model, {
      openDashboard: () => void commands.execute(CommandIDs.openDashboard),
      newNotebook: () => void commands.execute(CommandIDs.newNotebook),
      runNotebook: path => void commands.execute(CommandIDs.runNotebook, { path }),
      openFile: path => void commands.execute('docmanager:open', { path }),
      stopRun: (run: IRun) => void commands.execute(CommandIDs.stopRun, { id: run.id, name: run.name }),
      openRun: (run: IRun) => void commands.execute(CommandIDs.openRun, { id: run.id }),
      setModelStage: (m: IModel, stage: string) =>
        void commands.execute(CommandIDs.setModelStage, { name: m.name, version: m.version, stage }),
      createProject: async () => {
        try {
          const first = await model.createProject('');
          if (first.confirm) {
            const answer = await showDialog({
              title: 'Create a project in the TESLA Lab sources?',
              body: first.confirm,
              buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Create anyway' })]
            });
            if (answer.button.accept) {
              await model.createProject('', true);
            }
          }
        } catch (reason) {
          await showErrorMessage('Could not create the TESLA project', message(reason));
        }
      },
      openDemo: async () => {
        try {
          await model.openDemo();
        } catch (reason) {
          await showErrorMessage('Could not open the demo project', message(reason));
        }
      }
    });
    sidebar.id = 'tesla-lab-sidebar';
    sidebar.title.icon = teslaIcon;
    sidebar.title.caption = 'TESLA Lab';
    shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, 'tesla-lab-sidebar');

    commands.addCommand(CommandIDs.openSidebar, {
      label: 'TESLA Lab',
      caption: 'Show the TESLA Lab sidebar: runs, datasets and models of this project',
      icon: teslaIcon,
      execute: () => shell.activateById(sidebar.id)
    });

    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh TESLA Lab',
      execute: () => model.refresh().catch(() => undefined)
    });

    commands.addCommand(CommandIDs.openDashboard, {
      label: 'TESLA Dashboard',
      caption: "Open the Panel dashboard of the sidebar's project in a tab",
      icon: teslaIcon,
      execute: async () => {
        const project = model.overview.project?.path ?? null;
        if (dashboard && !dashboard.isDisposed) {
          if (dashboardProject === project) {
            shell.activateById(dashboard.id);
            return;
          }
          dashboard.dispose(); // it shows another project: the sidebar's project changed since
        }
        let url: string;
        try {
          const note = Notification.emit(`Starting the dashboard of ${project ?? 'this project'}…`, 'in-progress', {
            autoClose: false
          });
          try {
            const started = await model.startDashboard();
            if (!started.url) {
              throw new Error('the server answered no dashboard URL');
            }
            url = started.url;
            if (!started.reachable && started.hint) {
              Notification.warning(started.hint, { autoClose: 8000 });
            }
          } finally {
            Notification.dismiss(note);
          }
        } catch (reason) {
          await showErrorMessage('Could not start the dashboard', message(reason));
          return;
        }
        const frame = new IFrame({
          sandbox: ['allow-scripts', 'allow-same-origin', 'allow-forms', 'allow-popups', 'allow-downloads']
        });
        frame.url = url;
        dashboard = new MainAreaWidget({ content: frame });
        dashboardProject = project;
        dashboard.id = 'tesla-lab-dashboard';
        dashboard.title.label = `TESLA Dashboard${model.overview.project ? ': ' + model.overview.project.name : ''}`;
        dashboard.title.caption = project ?? '';
        dashboard.title.icon = teslaIcon;
        dashboard.title.closable = true;
        dashboard.toolbar.addItem(
          'reload',
          new ToolbarButton({
            icon: refreshIcon,
            tooltip: 'Reload the dashboard',
            onClick: () => {
              frame.url = '';
              frame.url = url;
            }
          })
        );
        shell.add(dashboard, 'main');
        shell.activateById(dashboard.id);
      }
    });

    commands.addCommand(CommandIDs.openRun, {
      label: args => (args.id ? `Open Run ${String(args.id).slice(0, 8)}` : 'Open Run'),
      caption: "A run's page: curves, params, metrics and its executed notebook",
      execute: args => {
        const id = args.id as string;
        const open = runPages.get(id);
        if (open && !open.isDisposed) {
          shell.activateById(open.id);
          void open.content.reload();
          return;
        }
        const content = new RunPageWidget(model, id, {
          openNotebook: runId => void commands.execute(CommandIDs.openExecutedNotebook, { id: runId }),
          openRun: runId => void commands.execute(CommandIDs.openRun, { id: runId })
        });
        const widget = new MainAreaWidget({ content });
        widget.id = `tesla-lab-run-${id}`;
        widget.title.label = `Run ${id.slice(0, 8)}`;
        widget.title.icon = teslaIcon;
        widget.title.closable = true;
        content.title.changed.connect(() => {
          widget.title.label = content.title.label;
        });
        widget.toolbar.addItem(
          'reload',
          new ToolbarButton({ icon: refreshIcon, tooltip: 'Reload the run', onClick: () => void content.reload() })
        );
        runPages.set(id, widget);
        widget.disposed.connect(() => runPages.delete(id));
        shell.add(widget, 'main');
        shell.activateById(widget.id);
      }
    });

    commands.addCommand(CommandIDs.openExecutedNotebook, {
      label: 'Open Executed Notebook',
      execute: async args => {
        try {
          const path = await model.executedNotebook(args.id as string);
          if (path) {
            await commands.execute('docmanager:open', { path });
          } else {
            Notification.info('The executed notebook was saved outside the Jupyter root folder.');
          }
        } catch (reason) {
          await showErrorMessage('Could not open the executed notebook', message(reason));
        }
      }
    });

    commands.addCommand(CommandIDs.setModelStage, {
      label: args => (args.stage === 'production' ? 'Promote Model to Production' : 'Archive Model'),
      execute: async args => {
        const name = args.name as string;
        const version = args.version as number;
        const stage = args.stage as string;
        const body =
          stage === 'production'
            ? `Promote ${name} v${version} to production? The current production version of ${name} is archived.`
            : `Archive ${name} v${version}? It stays in the registry and can be promoted again.`;
        const result = await showDialog({
          title: stage === 'production' ? 'Promote to production' : 'Archive model',
          body,
          buttons: [
            Dialog.cancelButton(),
            stage === 'production'
              ? Dialog.okButton({ label: 'Promote to production' })
              : Dialog.warnButton({ label: 'Archive' })
          ]
        });
        if (!result.button.accept) {
          return;
        }
        try {
          await model.setModelStage(name, version, stage);
          Notification.success(`${name} v${version} is now ${stage}`, { autoClose: 4000 });
        } catch (reason) {
          await showErrorMessage('Could not change the model stage', message(reason));
        }
      }
    });

    commands.addCommand(CommandIDs.newNotebook, {
      label: 'New Training Notebook',
      caption: "A notebook from the project's training template, with its parameters filled in",
      icon: teslaIcon,
      execute: async () => {
        try {
          const template = await model.template();
          const value = await askParameters('New training notebook', template, true, 'Create', p => model.validate(p));
          if (!value) {
            return;
          }
          const path = await model.createNotebook(value.parameters, value.name);
          if (path) {
            await commands.execute('docmanager:open', { path });
          } else {
            Notification.info('The notebook was created outside the Jupyter root folder; open it from there.');
          }
        } catch (reason) {
          await showErrorMessage('Could not create the training notebook', message(reason));
        }
      }
    });

    commands.addCommand(CommandIDs.runNotebook, {
      label: 'Run Notebook as TESLA Job',
      caption: 'Run a notebook with papermill in a background process',
      execute: async args => {
        let path = args.path as string | undefined;
        if (!path) {
          const current = shell.currentWidget as any;
          path = current?.context?.path;
        }
        if (!path || !path.endsWith('.ipynb')) {
          await showErrorMessage('Run as TESLA job', 'Open a notebook first, or use the Run button in the TESLA sidebar.');
          return;
        }
        try {
          const template = await model.template(path);
          const value = await askParameters(`Run ${path} as a batch job`, template, false, 'Run', p =>
            model.validate(p, path)
          );
          if (!value) {
            return;
          }
          const job = await model.runNotebook(path, value.parameters);
          const run = job.name ? ` (run ${job.name})` : '';
          Notification.success(`Started ${path} as a papermill job${run}`, { autoClose: 5000 });
        } catch (reason) {
          await showErrorMessage('Could not start the notebook job', message(reason));
        }
      }
    });

    commands.addCommand(CommandIDs.stopRun, {
      label: args => (args.name ? `Stop Run ${args.name}` : 'Stop Run'),
      execute: async args => {
        const id = args.id as string;
        const result = await showDialog({
          title: 'Stop run',
          body: `Stop ${args.name ?? id}? The trainer ends the current epoch and keeps its checkpoint.`,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Stop' })]
        });
        if (!result.button.accept) {
          return;
        }
        try {
          await model.stopRun(id);
        } catch (reason) {
          await showErrorMessage('Could not stop the run', message(reason));
        }
      }
    });

    if (launcher) {
      launcher.add({ command: CommandIDs.openSidebar, category: CATEGORY, rank: 0 });
      launcher.add({ command: CommandIDs.newNotebook, category: CATEGORY, rank: 1 });
      launcher.add({ command: CommandIDs.openDashboard, category: CATEGORY, rank: 2 });
    }
    if (palette) {
      for (const command of [
        CommandIDs.openSidebar,
        CommandIDs.openDashboard,
        CommandIDs.newNotebook,
        CommandIDs.runNotebook,
        CommandIDs.refresh
      ]) {
        palette.addItem({ command, category: CATEGORY });
      }
    }
    if (statusBar) {
      statusBar.registerStatusItem('tesla-lab:status', {
        item: new TeslaStatus(model, () => shell.activateById(sidebar.id)),
        align: 'left',
        rank: 100
      });
    }
    app.contextMenu.addItem({
      command: CommandIDs.runNotebook,
      selector: '.jp-Notebook',
      rank: 100
    });

    void app.restored.then(() => model.start());
  }
};

export default plugin;
