// The one narrow object the window sees as `window.prs`: a named function per call, no generic
// invoke, and events delivered without exposing the IPC event (and its sender) to the page. Every
// function is derived from the contract's tables: a call added there appears here on its own.
// ipcRenderer is injected so this is testable without Electron.

import type { AppEvent, Outcome, PrsBridge, TerminalAck } from '../common/contract';
import {
  API_METHODS,
  bridgePlace,
  IPC_ACK_CHANNEL,
  IPC_EVENT_CHANNEL,
  ipcChannel,
  resultOf,
  WINDOW_METHODS,
} from '../common/contract';

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  send(channel: string, ...args: unknown[]): void;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export function makeBridge(ipc: IpcRendererLike): PrsBridge {
  const groups: Record<string, Record<string, (params?: unknown) => Promise<unknown>>> = {};
  for (const method of [...API_METHODS, ...WINDOW_METHODS]) {
    const [group, name] = bridgePlace(method);
    const channel = ipcChannel(method);
    // Main answers with an Outcome rather than throwing, so the error's name survives IPC.
    (groups[group] ??= {})[name] = async (params = {}) =>
      resultOf((await ipc.invoke(channel, params)) as Outcome);
  }
  return {
    ...(groups as unknown as Omit<PrsBridge, 'terminals' | 'onEvent'>),
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
