// Wiring the API contract onto Electron IPC: one handler per named channel (derived from the
// contract's tables), and every message whose sender is not the app's own window (a frame, a
// navigated page, another window) is dropped. Each call answers with an Outcome, the contract's one
// framing, so an error keeps its name ('BadRequest') on the way to the page.
// Electron is injected so this runs under plain Node in tests.

import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent } from 'electron';
import type { DialogOptions } from '../common/api';
import type { FrameTarget, Outcome, WindowMethod } from '../common/contract';
import {
  API_METHODS,
  IPC_ACK_CHANNEL,
  ipcChannel,
  outcomeOf,
  TERMINAL_ACK,
  WINDOW_REQUESTS,
} from '../common/contract';

/** What the sender check needs of an IPC event. */
export interface SenderInfo {
  sender: { id: number };
  senderFrame?: { url: string; parent?: unknown } | null;
}

export interface TrustPolicy {
  /** webContents ids of the app's own windows. */
  windowIds: ReadonlySet<number>;
  /** The page the app loads (file:// URL of out/renderer/index.html, or the dev server's). */
  appUrl: string;
}

export function isTrustedSender(event: SenderInfo, policy: TrustPolicy): boolean {
  if (!policy.windowIds.has(event.sender.id)) return false;
  const frame = event.senderFrame;
  if (!frame) return false;
  // Only the top frame of the app's page; never a subframe or a page navigated elsewhere.
  if (frame.parent) return false;
  try {
    const u = new URL(frame.url);
    const a = new URL(policy.appUrl);
    return u.protocol === a.protocol && u.host === a.host && u.pathname === a.pathname;
  } catch {
    return false;
  }
}

/** The host the window's calls reach: it checks each call's params against the contract. */
export type IpcTarget = FrameTarget;

type Ipc = Pick<IpcMain, 'handle' | 'on' | 'removeHandler' | 'removeAllListeners'>;

function refuseForeign(event: SenderInfo, policy: TrustPolicy, channel: string): void {
  if (!isTrustedSender(event, policy))
    throw new Error(`refused: ${channel} from a sender that is not the app window`);
}

/** Registers every channel; returns a function that removes them. */
export function registerIpc(
  ipc: Ipc,
  policy: TrustPolicy,
  target: (event: SenderInfo) => IpcTarget,
): () => void {
  for (const method of API_METHODS) {
    const channel = ipcChannel(method);
    ipc.handle(channel, (event: IpcMainInvokeEvent, params: unknown): Promise<Outcome> => {
      refuseForeign(event, policy, channel);
      return outcomeOf(() => target(event).call(method, params));
    });
  }
  ipc.on(IPC_ACK_CHANNEL, (event: IpcMainEvent, ack: unknown) => {
    if (!isTrustedSender(event, policy)) return;
    const r = TERMINAL_ACK.safeParse(ack);
    if (r.success) target(event).ack(r.data);
  });
  return () => {
    for (const method of API_METHODS) ipc.removeHandler(ipcChannel(method));
    ipc.removeAllListeners(IPC_ACK_CHANNEL);
  };
}

/** Native dialogs, injected (Electron's dialog with the window bound) so the wiring is testable. */
export interface Dialogs {
  open(options: DialogOptions): Promise<string | null>;
  save(options: DialogOptions): Promise<string | null>;
}

const DIALOG_OF: Record<WindowMethod, keyof Dialogs> = { openDialog: 'open', saveDialog: 'save' };

/** The dialog channels, with the same sender check as every request. Returns the remover. */
export function registerDialogs(
  ipc: Pick<IpcMain, 'handle' | 'removeHandler'>,
  policy: TrustPolicy,
  dialogs: Dialogs,
): () => void {
  const methods = Object.keys(WINDOW_REQUESTS) as WindowMethod[];
  for (const method of methods) {
    const channel = ipcChannel(method);
    ipc.handle(channel, (event: IpcMainInvokeEvent, options: unknown): Promise<Outcome> => {
      refuseForeign(event, policy, channel);
      const sanitised = WINDOW_REQUESTS[method].params.parse(options);
      return outcomeOf(() => dialogs[DIALOG_OF[method]](sanitised));
    });
  }
  return () => {
    for (const method of methods) ipc.removeHandler(ipcChannel(method));
  };
}
