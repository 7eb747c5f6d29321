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
} from '../../common/api';

export interface ApiClient {
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>>;
  /** Native dialogs where the host has them (Electron); the browser host uses the server's file browser. */
  dialogs: PrsBridge['dialogs'] | null;
  /** How an export reaches the user: a download URL (browser host), or null (save through a dialog). */
  exportUrl(runDir: string, what: ExportWhat): string | null;
  ack(ack: TerminalAck): void;
  onEvent(listener: (event: AppEvent) => void): () => void;
}

declare global {
  interface Window {
    prs?: PrsBridge;
  }
}

export function wsClient(url: string): ApiClient {
  const listeners = new Set<(event: AppEvent) => void>();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const ws = new WebSocket(url);
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error('cannot connect to the app host')));
  });
  ws.addEventListener('message', (m) => {
    const frame = JSON.parse(String(m.data)) as ServerFrame;
    if (frame.kind === 'event') {
      for (const l of listeners) l(frame.event);
    } else {
      const p = pending.get(frame.id);
      pending.delete(frame.id);
      if (!p) return;
      if (frame.ok) p.resolve(frame.result);
      else p.reject(new Error(frame.error));
    }
  });
  ws.addEventListener('close', () => {
    for (const p of pending.values()) p.reject(new Error('the connection to the app host closed'));
    pending.clear();
    for (const l of listeners) l({ type: 'runs-changed' });
  });
  const send = (frame: ClientFrame) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  };
  return {
    dialogs: null,
    exportUrl: (runDir, what) => `/export?${new URLSearchParams({ runDir, what }).toString()}`,
    async call(method, params) {
      await opened;
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        send({ kind: 'req', id, method, params });
      });
    },
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
    startRun: (p) => prs.runs.start(p.specPath),
    cancelRun: (p) => prs.runs.cancel(p.runId),
    resumeRun: (p) => prs.runs.resume(p.runDir, p.retryFailed),
    listRuns: () => prs.runs.list(),
    openRun: (p) => prs.runs.open(p),
    closeRun: (p) => prs.runs.close(p.runId),
    history: () => prs.runs.history(),
    readLog: (p) => prs.logs.read(p.runDir, p.path, p.start, p.end),
    readOutputPage: (p) => prs.logs.outputPage(p.runDir, p.start, p.maxLines, p.line),
    searchOutput: (p) => prs.output.search(p),
    cancelSearch: (p) => prs.output.cancelSearch(p.searchId),
    exportRun: (p) => prs.output.export(p),
    rerun: (p) => prs.history.rerun(p.runDir),
    deleteRun: (p) => prs.history.remove(p.runDir),
    listDir: (p) => prs.files.list(p.path),
    inspectScript: (p) => prs.wizard.inspectScript(p.path),
    inspectInputs: (p) => prs.wizard.inspectInputs(p),
    interpreters: (p) => prs.wizard.interpreters(p.sourceDir),
    checkInterpreter: (p) => prs.wizard.checkInterpreter(p.python, p.specDir),
    validateDraft: (p) => prs.wizard.validateDraft(p),
    saveSpec: (p) => prs.wizard.saveSpec(p),
    readSpecFile: (p) => prs.wizard.readSpecFile(p.path),
    toAzureMlV2: (p) => prs.wizard.toAzureMlV2(p),
    specYaml: (p) => prs.wizard.specYaml(p.spec),
    devices: () => prs.devices.list(),
    openShell: (p) => prs.shell.open(p.runId, p.process, p.cols, p.rows),
    shellInput: (p) => prs.shell.input(p.shellId, p.data),
    shellResize: (p) => prs.shell.resize(p.shellId, p.cols, p.rows),
    closeShell: (p) => prs.shell.close(p.shellId),
  };
  return {
    dialogs: prs.dialogs,
    exportUrl: () => null,
    call: (method, params) =>
      (calls[method] as (p: typeof params) => Promise<ApiResult<typeof method>>)(params),
    ack: (ack) => prs.terminals.ack(ack),
    onEvent: (listener) => prs.onEvent(listener),
  };
}

export function connect(): ApiClient {
  if (window.prs) return bridgeClient(window.prs);
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return wsClient(`${proto}//${location.host}/ws`);
}
