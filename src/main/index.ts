// Electron main: one window and the API contract over IPC. Thin: the host logic, the engine and the
// workers run in a plain Node process (src/server/hostProcess.ts, the same AppHost `prs serve`
// runs), so native modules built for Node by `npm install` never load under Electron's ABI.

import { app, BrowserWindow, dialog, ipcMain, session, shell } from 'electron';
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IPC_EVENT_CHANNEL } from '../common/api';
import { packageRoot } from '../engine/paths';
import { HostBridge } from './hostBridge';
import { registerDialogs, registerIpc } from './ipc';
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

  const win = new BrowserWindow(windowOptions(path.join(here, '..', 'preload', 'index.cjs')));
  const windowIds = new Set([win.webContents.id]);
  let quitting = false;
  const conn = new HostBridge({
    fork,
    hostEntry: path.join(packageRoot(), 'out', 'node', 'host.js'),
    // `npm start` passes the Node it runs under; otherwise the one on PATH.
    nodePath: process.env.PRS_NODE ?? 'node',
    env: process.env,
    onEvent: (event) => {
      if (!win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, event);
    },
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
    // The host stops its runs' workers, then exits; the window's process goes too.
    quitting = true;
    conn.close();
    app.quit();
  });
}

main().catch((err: unknown) => {
  console.error(err);
  app.exit(1);
});
