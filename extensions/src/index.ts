/**
 * TESLA Lab for JupyterLab: a launcher card, a left sidebar (runs, datasets, models, notebooks), a status bar item
 * with the running jobs, and commands to open the Panel dashboard, create a training notebook from the project's
 * template, run a notebook as a papermill job and stop a run. Every action is one call to the server extension
 * (tesla_lab/jupyter), which calls the library.
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
import { TeslaSidebar, TeslaStatus } from './sidebar';
import { Fetcher, IRun, ITemplate } from './types';

export namespace CommandIDs {
  export const openSidebar = 'tesla-lab:open-sidebar';
  export const openDashboard = 'tesla-lab:open-dashboard';
  export const newNotebook = 'tesla-lab:new-training-notebook';
  export const runNotebook = 'tesla-lab:run-notebook';
  export const stopRun = 'tesla-lab:stop-run';
  export const refresh = 'tesla-lab:refresh';
}

const CATEGORY = 'TESLA Lab';

function message(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** Ask for parameter values; null when cancelled. */
async function askParameters(title: string, template: ITemplate, withName: boolean, ok: string): Promise<IFormValue | null> {
  const result = await showDialog({
    title,
    body: new ParameterForm(template.parameters, withName),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: ok })],
    focusNodeSelector: 'input'
  });
  return result.button.accept && result.value ? result.value : null;
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

    const sidebar = new TeslaSidebar(model, {
      openDashboard: () => void commands.execute(CommandIDs.openDashboard),
      newNotebook: () => void commands.execute(CommandIDs.newNotebook),
      runNotebook: path => void commands.execute(CommandIDs.runNotebook, { path }),
      openFile: path => void commands.execute('docmanager:open', { path }),
      stopRun: (run: IRun) => void commands.execute(CommandIDs.stopRun, { id: run.id, name: run.name }),
      createProject: async () => {
        try {
          await model.createProject('');
        } catch (reason) {
          await showErrorMessage('Could not create the TESLA project', message(reason));
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
      caption: 'Open the Panel dashboard of TESLA Lab in a tab',
      icon: teslaIcon,
      execute: async () => {
        if (dashboard && !dashboard.isDisposed) {
          shell.activateById(dashboard.id);
          return;
        }
        let url = model.config?.dashboard_url ?? 'http://127.0.0.1:5006/';
        try {
          const probe = await model.dashboard();
          url = probe.url;
          if (!probe.reachable && probe.hint) {
            Notification.warning(probe.hint, { autoClose: 8000 });
          }
        } catch (reason) {
          Notification.warning(`Could not check the dashboard: ${message(reason)}`, { autoClose: 8000 });
        }
        const frame = new IFrame({
          sandbox: ['allow-scripts', 'allow-same-origin', 'allow-forms', 'allow-popups', 'allow-downloads']
        });
        frame.url = url;
        dashboard = new MainAreaWidget({ content: frame });
        dashboard.id = 'tesla-lab-dashboard';
        dashboard.title.label = 'TESLA Dashboard';
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

    commands.addCommand(CommandIDs.newNotebook, {
      label: 'New Training Notebook',
      caption: "A notebook from the project's training template, with its parameters filled in",
      icon: teslaIcon,
      execute: async () => {
        try {
          const template = await model.template();
          const value = await askParameters('New training notebook', template, true, 'Create');
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
          const value = await askParameters(`Run ${path} as a batch job`, template, false, 'Run');
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
