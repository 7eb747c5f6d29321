// Electron main: one window and the API contract over IPC. Thin: the host logic is the AppHost that
// `prs serve` runs, either in a plain Node child process (the default: native modules built for Node
// by `npm install` never load under Electron's ABI) or, where the native modules were rebuilt for
// Electron (a packaged app), here with workers as utility processes. hostMode.ts decides.

import { app, BrowserWindow, dialog, ipcMain, session, shell, utilityProcess } from 'electron';
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IPC_EVENT_CHANNEL, type AppEvent } from '../common/contract';
import { packageRoot, workerEntryPath } from '../runtime/paths';
import { chooseHostMode, forcedHostMode, probeNativeModules, PROBE_MARKER } from './hostMode';
import { startHostProcess, startMainHost, type RunningHost } from './hosts';
import { registerDialogs, registerIpc } from './ipc';
import { DESKTOP_CSP, isAppUrl, windowOptions } from './windowOptions';

// A packaged app whose fuses forbid ELECTRON_RUN_AS_NODE starts the probe as a second app: it must
// not open a window (or probe in turn).
if (process.env[PROBE_MARKER]) process.exit(1);

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererIndex = path.join(here, '..', 'renderer', 'index.html');
const appUrl = pathToFileURL(rendererIndex).href;

async function main(): Promise<void> {
  const forced = forcedHostMode(process.env.PRS_HOST_MODE);
  // Beside Electron's own start-up: it takes a Node start and two module loads.
  const probe = forced
    ? null
    : probeNativeModules({ execPath: process.execPath, packageRoot: packageRoot(), env: process.env });
  await app.whenReady();
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [DESKTOP_CSP] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));

  const win = new BrowserWindow(windowOptions(path.join(here, '..', 'preload', 'index.cjs')));
  const windowIds = new Set([win.webContents.id]);
  let quitting = false;
  const onEvent = (event: AppEvent) => {
    if (!win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, event);
  };
  const decision = chooseHostMode(forced, probe && (await probe));
  console.log(`Parallel Run Studio: the app host runs in ${decision.mode}: ${decision.why}.`);
  const host: RunningHost =
    decision.mode === 'main'
      ? await startMainHost({
          utility: utilityProcess,
          shimPath: path.join(here, 'workerShim.js'),
          workerPath: workerEntryPath,
          examplesDir: process.env.PRS_EXAMPLES_DIR ?? path.join(packageRoot(), 'examples'),
          runsDir: process.env.PRS_RUNS_DIR,
          onEvent,
        })
      : startHostProcess({
          fork,
          hostEntry: path.join(packageRoot(), 'out', 'node', 'host.js'),
          // `npm start` passes the Node it runs under; otherwise the one on PATH.
          nodePath: process.env.PRS_NODE ?? 'node',
          env: process.env,
          onEvent,
          onExit: (code, signal) => {
            if (quitting) return;
            dialog.showErrorBox(
              'Parallel Run Studio',
              `The app's host process stopped (${signal ?? `exit code ${code}`}). It runs under Node.js: ` +
                'check that `node` is on PATH (or set PRS_NODE), then start the app again.',
            );
            app.quit();
          },
        });
  const unregister = registerIpc(ipcMain, { windowIds, appUrl }, () => host.target);
  const unregisterDialogs = registerDialogs(
    ipcMain,
    { windowIds, appUrl },
    {
      open: async (o) => {
        const r = await dialog.showOpenDialog(win, {
          title: o.title,
          defaultPath: o.defaultPath,
          filters: o.filters,
          properties: [o.directory ? 'openDirectory' : 'openFile'],
        });
        return r.canceled ? null : (r.filePaths[0] ?? null);
      },
      save: async (o) => {
        const r = await dialog.showSaveDialog(win, {
          title: o.title,
          defaultPath: o.defaultPath,
          filters: o.filters,
        });
        return r.canceled ? null : (r.filePath ?? null);
      },
    },
  );

  win.webContents.on('will-navigate', (e, url) => {
    if (!isAppUrl(url, appUrl)) e.preventDefault();
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    unregister();
    unregisterDialogs();
    void host.close();
  });
  await win.loadURL(appUrl + (process.env.PRS_START_HASH ?? ''));

  app.on('window-all-closed', () => {
    // The runs' workers stop first; the window's process goes too.
    quitting = true;
    void host.close().finally(() => app.quit());
  });
}

main().catch((err: unknown) => {
  console.error(err);
  app.exit(1);
});
