// The contract is one table (src/common/contract.ts) and everything else is derived from it: the
// preload's named object, the renderer's bridge client, main's IPC handlers and the host's
// dispatcher. These tests walk the table and check that each row has each of those, and that a call
// with bad params is refused at the host, naming the method and the key, whichever way it came: in
// process, over IPC (through the real preload builder and main's real registerIpc), from the
// desktop app's host process and over the WebSocket.
//
// The Electron window cannot run here (no binary): ipcRenderer and ipcMain are stand-ins that pass
// messages between the real preload builder and the real main wiring, so the IPC part is a test of
// the derivation and the wiring, not of Electron. The host behind them is a real AppHost.

import { fork } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_METHODS,
  bridgeFunction,
  bridgePlace,
  ipcChannel,
  REQUESTS,
  WINDOW_METHODS,
  type ApiMethod,
  type ApiParams,
  type PrsBridge,
} from '../../src/common/contract';
import { HostBridge } from '../../src/main/hostBridge';
import { registerDialogs, registerIpc, type SenderInfo } from '../../src/main/ipc';
import { makeBridge } from '../../src/preload/bridge';
import { AppHost, type HostConnection } from '../../src/host/appHost';
import { ROOT, tempDir, writeFiles } from '../helpers';
import { connect, startServe } from '../web/serve';

const APP_URL = 'file:///opt/prs/out/renderer/index.html';
const POLICY = { windowIds: new Set([7]), appUrl: APP_URL };
const WINDOW_EVENT: SenderInfo = { sender: { id: 7 }, senderFrame: { url: APP_URL, parent: null } };

type Handler = (event: SenderInfo, arg: unknown) => unknown;

/** ipcMain and ipcRenderer stand-ins joined back to back: invoke reaches the handler main registered. */
function fakeElectronIpc() {
  const handlers = new Map<string, Handler>();
  const listeners = new Map<string, Handler>();
  const invoked: Array<[string, unknown]> = [];
  const main = {
    handle: (ch: string, fn: Handler) => void handlers.set(ch, fn),
    on: (ch: string, fn: Handler) => void listeners.set(ch, fn),
    removeHandler: (ch: string) => void handlers.delete(ch),
    removeAllListeners: (ch?: string) => void (ch ? listeners.delete(ch) : listeners.clear()),
  };
  const renderer = {
    invoke: async (ch: string, arg: unknown) => {
      invoked.push([ch, arg]);
      const handler = handlers.get(ch);
      if (!handler) throw new Error(`No handler registered for '${ch}'`);
      return handler(WINDOW_EVENT, arg);
    },
    send: (ch: string, arg: unknown) => listeners.get(ch)?.(WINDOW_EVENT, arg),
    on: () => undefined,
    removeListener: () => undefined,
  };
  return { main, renderer, handlers, invoked };
}

/**
 * The renderer's client in Electron, as src/renderer/src/client.ts's bridgeClient makes it (that file
 * is built for the browser, not for these Node tests): each call is bridgeFunction of the table.
 */
function bridgeClient(bridge: PrsBridge) {
  return {
    call: <M extends ApiMethod>(method: M, params: ApiParams<M>) => bridgeFunction(bridge, method)(params),
    dialogs: bridge.dialogs,
  };
}

/** Every function on the bridge, as 'group.name' (terminals.ack and onEvent are not calls). */
function bridgeFunctions(bridge: PrsBridge): string[] {
  const out: string[] = [];
  for (const [group, value] of Object.entries(bridge)) {
    if (typeof value === 'function') continue;
    for (const [name, fn] of Object.entries(value as Record<string, unknown>))
      if (typeof fn === 'function') out.push(`${group}.${name}`);
  }
  return out.filter((p) => p !== 'terminals.ack').sort();
}

let root: string;
let host: AppHost;
let conn: HostConnection;

beforeAll(() => {
  root = tempDir('prs-contract-');
  writeFiles(path.join(root, 'examples', 'tiny'), {
    'job.yaml': '# A tiny job.\nname: tiny\nentry_script: score.mjs\ninputs:\n  - path: ./data\n',
  });
  host = new AppHost({ examplesDir: path.join(root, 'examples'), runsDir: path.join(root, 'runs') });
  conn = host.connect(() => undefined);
});

afterAll(async () => {
  conn?.close();
  await host?.close();
});

describe('the contract table and what is derived from it', () => {
  it('gives every row a preload function, a client call, an IPC handler and a host handler', async () => {
    expect(API_METHODS.length).toBeGreaterThan(30);
    const ipc = fakeElectronIpc();
    // A recording target here (said so: this part tests the derivation, not the host's answers).
    const reached: Array<[string, unknown]> = [];
    const recorder = {
      call: async (method: string, params: unknown) => void reached.push([method, params]),
      ack: () => undefined,
    };
    registerIpc(ipc.main as never, POLICY, () => recorder);
    registerDialogs(ipc.main as never, POLICY, { open: async () => '/picked', save: async () => null });
    const bridge = makeBridge(ipc.renderer);

    // The preload has exactly the table's rows, each at the place the row names, and nothing else.
    const places = [...API_METHODS, ...WINDOW_METHODS].map((m) => bridgePlace(m).join('.'));
    expect(new Set(places).size).toBe(places.length);
    expect(bridgeFunctions(bridge)).toEqual([...places].sort());
    // Main has one channel per row; the host one handler per request.
    expect([...ipc.handlers.keys()].sort()).toEqual(
      [...API_METHODS, ...WINDOW_METHODS].map((m) => ipcChannel(m)).sort(),
    );
    expect(Object.keys(conn.handlers).sort()).toEqual([...API_METHODS].sort());

    // The renderer's client reaches, for each request, the bridge function on that request's channel
    // with the params object as it was given (no positional round trip that could lose a key).
    const client = bridgeClient(bridge);
    for (const method of API_METHODS) {
      expect(typeof bridgeFunction(bridge, method), method).toBe('function');
      const marker = { probe: method };
      ipc.invoked.length = 0;
      reached.length = 0;
      await client.call(method, marker as never);
      expect(ipc.invoked, method).toEqual([[ipcChannel(method), marker]]);
      expect(reached, method).toEqual([[method, marker]]);
    }
  });

  it('carries a real call and a dialog through client, preload, main and the host', async () => {
    const ipc = fakeElectronIpc();
    registerIpc(ipc.main as never, POLICY, () => conn);
    registerDialogs(ipc.main as never, POLICY, {
      open: async (o) => `/picked/${o.title}`,
      save: async () => null,
    });
    const client = bridgeClient(makeBridge(ipc.renderer));
    const examples = await client.call('listExamples', {});
    expect(examples.map((e) => [e.name, e.description])).toEqual([['tiny', 'A tiny job.']]);
    expect(await client.dialogs!.open({ title: 'spec', directory: 'yes' as never })).toBe('/picked/spec');
    // A failure in the host rejects in the page with the host's message.
    await expect(client.call('readSpecFile', { path: path.join(root, 'nowhere.yaml') })).rejects.toThrow(
      /nowhere\.yaml/,
    );
  });
});

describe('bad params are refused at the host, naming the method and the key', () => {
  const cases: Array<[ApiMethod, unknown, RegExp]> = [
    ['readLog', {}, /^readLog: runDir: /],
    ['listLogs', { runDir: 5 }, /^listLogs: runDir: /],
    ['openShell', { runId: 'r', process: 'p', cols: 0, rows: 10 }, /^openShell: cols: /],
    ['exportRun', { runDir: '/r', what: 'everything', dest: '/d' }, /^exportRun: what: /],
    ['startRun', null, /^startRun: params: /],
  ];

  it('in process, before any handler runs', async () => {
    for (const [method, params, message] of cases) {
      const err = await conn.call(method, params).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.name, method).toBe('BadRequest');
      expect(err?.message, method).toMatch(message);
    }
    expect(REQUESTS.startRun.params.safeParse({ specPath: '/a/job.yaml' }).success).toBe(true);
  });

  it('over IPC, through the preload the page gets: the error keeps its name', async () => {
    const ipc = fakeElectronIpc();
    registerIpc(ipc.main as never, POLICY, () => conn);
    const client = bridgeClient(makeBridge(ipc.renderer));
    for (const [method, params, message] of cases) {
      const err = await client.call(method, params as never).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.name, method).toBe('BadRequest');
      expect(err?.message, method).toMatch(message);
    }
  });

  it('from the desktop app host process (out/node/host.js), in the same frames', async () => {
    let exited: (code: number | null) => void = () => undefined;
    const exit = new Promise<number | null>((resolve) => (exited = resolve));
    const bridge = new HostBridge({
      fork,
      hostEntry: path.join(ROOT, 'out', 'node', 'host.js'),
      nodePath: process.execPath,
      env: { ...process.env, PRS_DATA_DIR: tempDir(), PRS_EXAMPLES_DIR: path.join(root, 'examples') },
      onEvent: () => undefined,
      onExit: (code) => exited(code),
    });
    try {
      for (const [method, params, message] of cases) {
        const err = await bridge.call(method, params).then(
          () => null,
          (e: unknown) => e as Error,
        );
        expect(err?.name, method).toBe('BadRequest');
        expect(err?.message, method).toMatch(message);
      }
      expect(await bridge.call('listExamples', {})).toMatchObject([{ name: 'tiny' }]);
    } finally {
      bridge.close();
    }
    expect(await exit).toBe(0);
  });

  it('over the WebSocket of `prs serve`', async () => {
    const serve = await startServe([], { PRS_EXAMPLES_DIR: path.join(root, 'examples'), PRS_DATA_DIR: root });
    try {
      const client = await connect(serve);
      for (const [method, params, message] of cases) {
        const reply = await client.request(method, params);
        expect(reply.ok, method).toBe(false);
        if (!reply.ok) {
          expect(reply.error.name, method).toBe('BadRequest');
          expect(reply.error.message, method).toMatch(message);
        }
      }
      client.ws.close();
    } finally {
      await serve.stop();
    }
  });
});
