// The Electron wiring, under plain Node: the window's options, the IPC sender checks and the
// preload bridge's shape. Electron's modules are injected (ipcMain/ipcRenderer stand-ins record
// what is registered); the code under test is ours, not Electron's.

import { describe, expect, it } from 'vitest';
import { IPC_ACK_CHANNEL, IPC_CHANNELS, IPC_EVENT_CHANNEL } from '../../src/common/contract';
import { isTrustedSender, registerDialogs, registerIpc, type SenderInfo } from '../../src/main/ipc';
import { isAppUrl, windowOptions } from '../../src/main/windowOptions';
import { makeBridge } from '../../src/preload/bridge';

const APP_URL = 'file:///opt/prs/out/renderer/index.html';

function fakeIpcMain() {
  const handlers = new Map<string, (event: SenderInfo, params: unknown) => unknown>();
  const listeners = new Map<string, (event: SenderInfo, arg: unknown) => void>();
  return {
    handlers,
    listeners,
    handle: (ch: string, fn: (event: SenderInfo, params: unknown) => unknown) => void handlers.set(ch, fn),
    on: (ch: string, fn: (event: SenderInfo, arg: unknown) => void) => void listeners.set(ch, fn),
    removeHandler: (ch: string) => void handlers.delete(ch),
    removeAllListeners: (ch?: string) => void (ch ? listeners.delete(ch) : listeners.clear()),
  };
}

const appEvent = (over: Partial<SenderInfo> = {}): SenderInfo => ({
  sender: { id: 7 },
  senderFrame: { url: `${APP_URL}#/run?runId=x`, parent: null },
  ...over,
});

describe('window options', () => {
  it('isolates and sandboxes the renderer, with no Node', () => {
    const o = windowOptions('/x/preload/index.cjs');
    expect(o.webPreferences).toMatchObject({
      preload: '/x/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webviewTag: false,
      webSecurity: true,
    });
  });

  it('allows navigation only to the app page', () => {
    expect(isAppUrl(`${APP_URL}#/`, APP_URL)).toBe(true);
    expect(isAppUrl('https://evil.example/', APP_URL)).toBe(false);
    expect(isAppUrl('file:///etc/passwd', APP_URL)).toBe(false);
  });
});

describe('IPC sender checks', () => {
  const policy = { windowIds: new Set([7]), appUrl: APP_URL };

  it('trusts only the top frame of the app window on the app page', () => {
    expect(isTrustedSender(appEvent(), policy)).toBe(true);
    expect(isTrustedSender(appEvent({ sender: { id: 8 } }), policy)).toBe(false);
    expect(
      isTrustedSender(appEvent({ senderFrame: { url: 'https://evil.example/', parent: null } }), policy),
    ).toBe(false);
    expect(isTrustedSender(appEvent({ senderFrame: { url: APP_URL, parent: {} } }), policy)).toBe(false);
    expect(isTrustedSender(appEvent({ senderFrame: null }), policy)).toBe(false);
  });

  it('registers one handler per contract call and drops calls and acks from foreign senders', async () => {
    const ipc = fakeIpcMain();
    const calls: Array<[string, unknown]> = [];
    const acks: unknown[] = [];
    const unregister = registerIpc(ipc as never, policy, () => ({
      call: async (method, params) => {
        calls.push([method, params]);
        return { ok: method };
      },
      ack: (a) => acks.push(a),
    }));
    expect([...ipc.handlers.keys()].sort()).toEqual(Object.values(IPC_CHANNELS).sort());
    await expect(
      ipc.handlers.get(IPC_CHANNELS.startRun)!(appEvent(), { specPath: '/a/job.yaml' }),
    ).resolves.toEqual({ ok: true, result: { ok: 'startRun' } });
    expect(calls).toEqual([['startRun', { specPath: '/a/job.yaml' }]]);
    expect(() => ipc.handlers.get(IPC_CHANNELS.startRun)!(appEvent({ sender: { id: 99 } }), {})).toThrow(
      /refused/,
    );
    expect(calls).toHaveLength(1);

    ipc.listeners.get(IPC_ACK_CHANNEL)!(appEvent(), { runId: 'r', term: 'process000', chars: 10 });
    ipc.listeners.get(IPC_ACK_CHANNEL)!(appEvent({ sender: { id: 99 } }), {
      runId: 'r',
      term: 'process000',
      chars: 10,
    });
    ipc.listeners.get(IPC_ACK_CHANNEL)!(appEvent(), { runId: 'r', term: 'x', chars: 'lots' });
    expect(acks).toEqual([{ runId: 'r', term: 'process000', chars: 10 }]);

    unregister();
    expect(ipc.handlers.size).toBe(0);
    expect(ipc.listeners.size).toBe(0);
  });
});

describe('native dialogs over IPC', () => {
  it('answers only the app window, with sanitised options', async () => {
    const ipc = fakeIpcMain();
    const asked: unknown[] = [];
    const policy = { windowIds: new Set([7]), appUrl: APP_URL };
    const unregister = registerDialogs(ipc as never, policy, {
      open: async (o) => {
        asked.push(o);
        return '/picked';
      },
      save: async () => '/saved',
    });
    const open = ipc.handlers.get('prs:openDialog')!;
    expect(
      await open(appEvent(), {
        title: 'Pick',
        directory: true,
        filters: [{ name: 'y', extensions: ['yaml', 3] }],
        evil: 1,
      }),
    ).toEqual({ ok: true, result: '/picked' });
    expect(asked).toEqual([
      {
        title: 'Pick',
        directory: true,
        defaultPath: undefined,
        filters: [{ name: 'y', extensions: ['yaml'] }],
      },
    ]);
    expect(() => open(appEvent({ sender: { id: 9 } }), {})).toThrow(/refused/);
    expect(await ipc.handlers.get('prs:saveDialog')!(appEvent(), {})).toEqual({ ok: true, result: '/saved' });
    unregister();
    expect(ipc.handlers.size).toBe(0);
  });
});

describe('preload bridge', () => {
  it('exposes named calls on fixed channels and no generic invoke', async () => {
    const invoked: Array<[string, unknown]> = [];
    const sent: Array<[string, unknown]> = [];
    const on = new Map<string, (e: unknown, ...a: unknown[]) => void>();
    const bridge = makeBridge({
      invoke: async (ch, ...args) => {
        invoked.push([ch, args[0]]);
        return { ok: true, result: null };
      },
      send: (ch, ...args) => void sent.push([ch, args[0]]),
      on: (ch, l) => on.set(ch, l),
      removeListener: (ch) => on.delete(ch),
    });
    expect(Object.keys(bridge).sort()).toEqual([
      'cluster',
      'devices',
      'dialogs',
      'examples',
      'files',
      'history',
      'logs',
      'onEvent',
      'output',
      'runs',
      'shell',
      'specs',
      'terminals',
      'wizard',
    ]);
    expect(JSON.stringify(Object.keys(bridge))).not.toMatch(/invoke|send|ipc/i);
    await bridge.runs.start({ specPath: '/a/job.yaml' });
    await bridge.logs.read({ runDir: '/run', path: 'logs/x.txt', start: 0, end: 10 });
    expect(invoked).toEqual([
      [IPC_CHANNELS.startRun, { specPath: '/a/job.yaml' }],
      [IPC_CHANNELS.readLog, { runDir: '/run', path: 'logs/x.txt', start: 0, end: 10 }],
    ]);
    bridge.terminals.ack({ runId: 'r', term: 't', chars: 3 });
    expect(sent).toEqual([[IPC_ACK_CHANNEL, { runId: 'r', term: 't', chars: 3 }]]);
    const got: unknown[] = [];
    const off = bridge.onEvent((e) => got.push(e));
    on.get(IPC_EVENT_CHANNEL)!({ sender: 'hidden' }, { type: 'runs-changed' });
    expect(got).toEqual([{ type: 'runs-changed' }]);
    off();
    expect(on.has(IPC_EVENT_CHANNEL)).toBe(false);
  });
});
