// The renderer's one way to the host, typed from the contract: over a WebSocket in a browser, over
// the preload's named bridge (window.prs) in Electron. Nothing else in the UI knows which.

import type {
  ApiMethod,
  ApiParams,
  ApiResult,
  AppEvent,
  ClientFrame,
  ExportWhat,
  PrsBridge,
  ServerFrame,
  TerminalAck,
  WireError,
} from '../../common/api';
import { WS_PROTOCOL, WS_TOKEN_PREFIX } from '../../common/api';

export interface ApiClient {
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>>;
  /** Native dialogs where the host has them (Electron); the browser host uses the server's file browser. */
  dialogs: PrsBridge['dialogs'] | null;
  /** The browser host streams an export as a download; null where it is saved through a dialog. */
  download: ((runDir: string, what: ExportWhat) => Promise<void>) | null;
  ack(ack: TerminalAck): void;
  onEvent(listener: (event: AppEvent) => void): () => void;
}

declare global {
  interface Window {
    prs?: PrsBridge;
  }
}

const TOKEN_KEY = 'prs.token';

/**
 * The host's secret for this tab. `prs serve` prints it in the URL's fragment, which the browser
 * never sends; the page moves it into session storage (this origin, host and port, only: unlike a
 * cookie, no other port on 127.0.0.1 can read it) and takes it out of the address bar and history.
 * A reload finds it there; a new tab gets it from the printed URL. A route after it is kept
 * (`#token=...#/wizard`).
 */
export function takeToken(): string | null {
  const m = /^#token=([A-Za-z0-9_-]+)(#.*)?$/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, m[1]);
    history.replaceState(history.state, '', location.pathname + location.search + (m[2] ?? ''));
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

const NO_TOKEN = 'this tab has no access to the app host: open the URL `prs serve` printed (with its token)';
const REFUSED =
  'cannot connect to the app host, or it refused this tab (each start of `prs serve` makes a new token): ' +
  'open the URL `prs serve` printed';

function wireError(error: WireError): Error {
  const e = new Error(error.message);
  e.name = error.name;
  return e;
}

export function wsClient(url: string, token: string | null): ApiClient {
  const listeners = new Set<(event: AppEvent) => void>();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  // The token rides as a subprotocol value: the one thing a page may add to a WebSocket handshake.
  const ws = token ? new WebSocket(url, [WS_PROTOCOL, WS_TOKEN_PREFIX + token]) : null;
  let open = false;
  const opened = new Promise<void>((resolve, reject) => {
    if (!ws) return reject(new Error(NO_TOKEN));
    ws.addEventListener('open', () => {
      open = true;
      resolve();
    });
    // A host that is gone, or a stale token (each start makes a new one), fails before 'open'.
    ws.addEventListener('error', () => {
      if (!open) reject(new Error(REFUSED));
    });
  });
  ws?.addEventListener('message', (m) => {
    const frame = JSON.parse(String(m.data)) as ServerFrame;
    if (frame.kind === 'event') {
      for (const l of listeners) l(frame.event);
    } else {
      const p = frame.id === null ? undefined : pending.get(frame.id);
      if (!p) {
        if (!frame.ok) console.error(`app host: ${frame.error.name}: ${frame.error.message}`);
        return;
      }
      pending.delete(frame.id as number);
      if (frame.ok) p.resolve(frame.result);
      else p.reject(wireError(frame.error));
    }
  });
  ws?.addEventListener('close', () => {
    for (const p of pending.values()) p.reject(new Error('the connection to the app host closed'));
    pending.clear();
    for (const l of listeners) l({ type: 'runs-changed' });
  });
  const send = (frame: ClientFrame) => {
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  };
  const call = async <M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> => {
    await opened;
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      send({ kind: 'req', id, method, params });
    });
  };
  return {
    dialogs: null,
    // A plain link streams the download to disk; it follows a single-use ticket, never the token.
    async download(runDir, what) {
      const { url: href } = await call('exportTicket', { runDir, what });
      const a = document.createElement('a');
      a.href = href;
      a.download = '';
      document.body.append(a);
      a.click();
      a.remove();
    },
    call,
    ack(ack) {
      send({ kind: 'ack', ack });
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Electron: map each contract call onto the bridge's named function. */
export function bridgeClient(prs: PrsBridge): ApiClient {
  const calls: { [M in ApiMethod]: (p: ApiParams<M>) => Promise<ApiResult<M>> } = {
    listExamples: () => prs.examples.list(),
    validateSpec: (p) => prs.specs.validate(p.specPath),
    startRun: (p) => prs.runs.start(p.specPath, p.input),
    cancelRun: (p) => prs.runs.cancel(p.runId),
    resumeRun: (p) => prs.runs.resume(p.runDir, p.retryFailed),
    listRuns: () => prs.runs.list(),
    openRun: (p) => prs.runs.open(p),
    closeRun: (p) => prs.runs.close(p.runId),
    history: () => prs.runs.history(),
    readLog: (p) => prs.logs.read(p.runDir, p.path, p.start, p.end, p.waitMs),
    listLogs: (p) => prs.logs.tree(p.runDir),
    miniBatchLogs: (p) => prs.logs.miniBatch(p.runDir, p.miniBatchId),
    openPipeline: (p) => prs.runs.openPipeline(p.runDir),
    readOutputPage: (p) => prs.logs.outputPage(p.runDir, p.start, p.maxLines, p.line),
    searchOutput: (p) => prs.output.search(p),
    cancelSearch: (p) => prs.output.cancelSearch(p.searchId),
    exportRun: (p) => prs.output.export(p),
    exportTicket: () =>
      Promise.reject(new Error('exportTicket: the desktop app saves exports through a dialog')),
    rerun: (p) => prs.history.rerun(p.runDir, p.reuse),
    deleteRun: (p) => prs.history.remove(p.runDir),
    listDir: (p) => prs.files.list(p.path),
    inspectScript: (p) => prs.wizard.inspectScript(p.path),
    inspectInputs: (p) => prs.wizard.inspectInputs(p),
    interpreters: (p) => prs.wizard.interpreters(p),
    checkInterpreter: (p) => prs.wizard.checkInterpreter(p),
    validateDraft: (p) => prs.wizard.validateDraft(p),
    saveSpec: (p) => prs.wizard.saveSpec(p),
    readSpecFile: (p) => prs.wizard.readSpecFile(p.path),
    toAzureMlV2: (p) => prs.wizard.toAzureMlV2(p),
    specYaml: (p) => prs.wizard.specYaml(p),
    devices: () => prs.devices.list(),
    openShell: (p) => prs.shell.open(p.runId, p.process, p.cols, p.rows, p.runDir),
    shellInput: (p) => prs.shell.input(p.shellId, p.data),
    shellResize: (p) => prs.shell.resize(p.shellId, p.cols, p.rows),
    closeShell: (p) => prs.shell.close(p.shellId),
  };
  return {
    dialogs: prs.dialogs,
    download: null,
    call: (method, params) =>
      (calls[method] as (p: typeof params) => Promise<ApiResult<typeof method>>)(params),
    ack: (ack) => prs.terminals.ack(ack),
    onEvent: (listener) => prs.onEvent(listener),
  };
}

export function connect(): ApiClient {
  if (window.prs) return bridgeClient(window.prs);
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return wsClient(`${proto}//${location.host}/ws`, takeToken());
}
