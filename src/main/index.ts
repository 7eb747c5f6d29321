// Electron main: one window, the API contract over IPC, workers as utility processes. Thin: the
// engine and the host logic are the same ones `prs serve` uses.

import { app, BrowserWindow, dialog, ipcMain, session, shell, utilityProcess } from 'electron';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IPC_EVENT_CHANNEL } from '../common/api';
import { packageRoot, workerEntryPath } from '../engine/paths';
import { AppHost } from '../server/web/appHost';
import { registerDialogs, registerIpc } from './ipc';
import { UtilityProcessLauncher } from './utilityLauncher';
import { DESKTOP_CSP, isAppUrl, windowOptions } from './windowOptions';

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererIndex = path.join(here, '..', 'renderer', 'index.html');
const appUrl = pathToFileURL(rendererIndex).href;

async function main(): Promise<void> {
  await app.whenReady();
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [DESKTOP_CSP] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));

  const host = new AppHost({
    examplesDir: process.env.PRS_EXAMPLES_DIR ?? path.join(packageRoot(), 'examples'),
    runsDir: process.env.PRS_RUNS_DIR,
    launcher: new UtilityProcessLauncher(utilityProcess, path.join(here, 'workerShim.js'), workerEntryPath),
  });
  const win = new BrowserWindow(windowOptions(path.join(here, '..', 'preload', 'index.cjs')));
  const windowIds = new Set([win.webContents.id]);
  const conn = host.connect((event) => {
    if (!win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, event);
  });
  const unregister = registerIpc(ipcMain, { windowIds, appUrl }, () => conn);
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
    conn.close();
  });
  await win.loadURL(appUrl + (process.env.PRS_START_HASH ?? ''));

  app.on('window-all-closed', () => {
    // Workers are owned here: stop them before leaving.
    void host.close().finally(() => app.quit());
  });
}

main().catch((err: unknown) => {
  console.error(err);
  app.exit(1);
});
