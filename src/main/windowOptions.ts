// The desktop window's options and security policy, as pure data so tests check them without an
// Electron binary. The renderer gets no Node, runs sandboxed and isolated, and reaches the host
// only through the preload's named bridge.

import type { BrowserWindowConstructorOptions } from 'electron';
import { APP_CSP } from '../common/csp';

export function windowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    title: 'Parallel Run Studio',
    backgroundColor: '#0f1218',
    show: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
    },
  };
}

/** The window's Content-Security-Policy (also sent as a header on every response). */
export const DESKTOP_CSP = APP_CSP;

/** Navigation away from the app's own page is never allowed (links open nothing). */
export function isAppUrl(url: string, appUrl: string): boolean {
  try {
    const u = new URL(url);
    const a = new URL(appUrl);
    return u.protocol === a.protocol && u.host === a.host && u.pathname === a.pathname;
  } catch {
    return false;
  }
}
