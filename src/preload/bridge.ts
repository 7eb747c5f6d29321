// The one narrow object the window sees as `window.prs`: a named function per call, no generic
// invoke, and events delivered without exposing the IPC event (and its sender) to the page.
// ipcRenderer is injected so this is testable without Electron.

import type { AppEvent, PrsBridge, TerminalAck } from '../common/api';
import { IPC_ACK_CHANNEL, IPC_CHANNELS, IPC_DIALOG_CHANNELS, IPC_EVENT_CHANNEL } from '../common/api';

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  send(channel: string, ...args: unknown[]): void;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export function makeBridge(ipc: IpcRendererLike): PrsBridge {
  const call = <T>(channel: string, params: object): Promise<T> => ipc.invoke(channel, params) as Promise<T>;
  const c = IPC_CHANNELS;
  return {
    examples: { list: () => call(c.listExamples, {}) },
    specs: { validate: (specPath) => call(c.validateSpec, { specPath }) },
    runs: {
      start: (specPath, input) => call(c.startRun, { specPath, input }),
      cancel: (runId) => call(c.cancelRun, { runId }),
      resume: (runDir, retryFailed) => call(c.resumeRun, { runDir, retryFailed }),
      list: () => call(c.listRuns, {}),
      open: (ref) => call(c.openRun, { runId: ref.runId, runDir: ref.runDir }),
      close: (runId) => call(c.closeRun, { runId }),
      history: () => call(c.history, {}),
      openPipeline: (runDir) => call(c.openPipeline, { runDir }),
    },
    logs: {
      read: (runDir, path, start, end, waitMs) => call(c.readLog, { runDir, path, start, end, waitMs }),
      tree: (runDir) => call(c.listLogs, { runDir }),
      miniBatch: (runDir, miniBatchId) => call(c.miniBatchLogs, { runDir, miniBatchId }),
      outputPage: (runDir, start, maxLines, line) =>
        call(c.readOutputPage, { runDir, start, maxLines, line }),
    },
    output: {
      search: (p) =>
        call(c.searchOutput, {
          runDir: p.runDir,
          query: p.query,
          regex: p.regex,
          caseSensitive: p.caseSensitive,
          limit: p.limit,
        }),
      cancelSearch: (searchId) => call(c.cancelSearch, { searchId }),
      export: (p) =>
        call(c.exportRun, { runDir: p.runDir, what: p.what, dest: p.dest, overwrite: p.overwrite }),
    },
    history: {
      rerun: (runDir, reuse) => call(c.rerun, { runDir, reuse }),
      remove: (runDir) => call(c.deleteRun, { runDir }),
    },
    files: { list: (path) => call(c.listDir, { path }) },
    wizard: {
      inspectScript: (path) => call(c.inspectScript, { path }),
      inspectInputs: (p) => call(c.inspectInputs, { spec: p.spec, specDir: p.specDir }),
      interpreters: (p) => call(c.interpreters, { sourceDir: p.sourceDir, script: p.script }),
      checkInterpreter: (p) =>
        call(c.checkInterpreter, { python: p.python, specDir: p.specDir, script: p.script }),
      validateDraft: (p) => call(c.validateDraft, { spec: p.spec, specDir: p.specDir }),
      saveSpec: (p) =>
        call(c.saveSpec, {
          path: p.path,
          spec: p.spec,
          overwrite: p.overwrite,
          azureMlV2: p.azureMlV2,
          template: p.template,
        }),
      readSpecFile: (path) => call(c.readSpecFile, { path }),
      toAzureMlV2: (p) => call(c.toAzureMlV2, { spec: p.spec, specDir: p.specDir }),
      specYaml: (p) => call(c.specYaml, { spec: p.spec, path: p.path }),
    },
    dialogs: {
      open: (o) =>
        call(IPC_DIALOG_CHANNELS.open, {
          title: o.title,
          directory: o.directory,
          defaultPath: o.defaultPath,
          filters: o.filters,
        }),
      save: (o) =>
        call(IPC_DIALOG_CHANNELS.save, { title: o.title, defaultPath: o.defaultPath, filters: o.filters }),
    },
    devices: { list: () => call(c.devices, {}) },
    shell: {
      open: (runId, process, cols, rows, runDir) => call(c.openShell, { runId, process, cols, rows, runDir }),
      input: (shellId, data) => call(c.shellInput, { shellId, data }),
      resize: (shellId, cols, rows) => call(c.shellResize, { shellId, cols, rows }),
      close: (shellId) => call(c.closeShell, { shellId }),
    },
    terminals: {
      ack: (ack: TerminalAck) =>
        ipc.send(IPC_ACK_CHANNEL, { runId: ack.runId, term: ack.term, chars: ack.chars }),
    },
    onEvent(listener) {
      const wrapped = (_e: unknown, event: unknown) => listener(event as AppEvent);
      ipc.on(IPC_EVENT_CHANNEL, wrapped);
      return () => {
        ipc.removeListener(IPC_EVENT_CHANNEL, wrapped);
      };
    },
  };
}
