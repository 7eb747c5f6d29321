// Wiring the API contract onto Electron IPC: one handler per named channel, and every message whose
// sender is not the app's own window (a frame, a navigated page, another window) is dropped.
// Electron is injected so this runs under plain Node in tests.

import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent } from 'electron';
import type { ApiMethod, DialogOptions, TerminalAck } from '../common/api';
import { IPC_ACK_CHANNEL, IPC_CHANNELS, IPC_DIALOG_CHANNELS } from '../common/api';

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

export interface IpcTarget {
  call(method: ApiMethod, params: unknown): Promise<unknown>;
  ack(ack: TerminalAck): void;
}

type Ipc = Pick<IpcMain, 'handle' | 'on' | 'removeHandler' | 'removeAllListeners'>;

/** Registers every channel; returns a function that removes them. */
export function registerIpc(
  ipc: Ipc,
  policy: TrustPolicy,
  target: (event: SenderInfo) => IpcTarget,
): () => void {
  const methods = Object.keys(IPC_CHANNELS) as ApiMethod[];
  for (const method of methods) {
    ipc.handle(IPC_CHANNELS[method], (event: IpcMainInvokeEvent, params: unknown) => {
      if (!isTrustedSender(event, policy)) {
        throw new Error(`refused: ${IPC_CHANNELS[method]} from a sender that is not the app window`);
      }
      return target(event).call(method, params ?? {});
    });
  }
  ipc.on(IPC_ACK_CHANNEL, (event: IpcMainEvent, ack: TerminalAck) => {
    if (!isTrustedSender(event, policy)) return;
    if (ack && typeof ack.runId === 'string' && typeof ack.term === 'string' && Number.isFinite(ack.chars)) {
      target(event).ack(ack);
    }
  });
  return () => {
    for (const method of methods) ipc.removeHandler(IPC_CHANNELS[method]);
    ipc.removeAllListeners(IPC_ACK_CHANNEL);
  };
}

/** Native dialogs, injected (Electron's dialog with the window bound) so the wiring is testable. */
export interface Dialogs {
  open(options: DialogOptions): Promise<string | null>;
  save(options: DialogOptions): Promise<string | null>;
}

/** Only plain, known option fields reach Electron's dialog. */
export function sanitizeDialogOptions(raw: unknown): DialogOptions {
  const o = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const filters = Array.isArray(o.filters)
    ? o.filters
        .filter((f): f is { name: string; extensions: string[] } => {
          const r = f as Record<string, unknown> | null;
          return !!r && typeof r.name === 'string' && Array.isArray(r.extensions);
        })
        .map((f) => ({ name: f.name, extensions: f.extensions.filter((e) => typeof e === 'string') }))
    : undefined;
  return { title: str(o.title), directory: o.directory === true, defaultPath: str(o.defaultPath), filters };
}

/** The dialog channels, with the same sender check as every request. Returns the remover. */
export function registerDialogs(
  ipc: Pick<IpcMain, 'handle' | 'removeHandler'>,
  policy: TrustPolicy,
  dialogs: Dialogs,
): () => void {
  ipc.handle(IPC_DIALOG_CHANNELS.open, (event: IpcMainInvokeEvent, options: unknown) => {
    if (!isTrustedSender(event, policy))
      throw new Error(`refused: ${IPC_DIALOG_CHANNELS.open} from a sender that is not the app window`);
    return dialogs.open(sanitizeDialogOptions(options));
  });
  ipc.handle(IPC_DIALOG_CHANNELS.save, (event: IpcMainInvokeEvent, options: unknown) => {
    if (!isTrustedSender(event, policy))
      throw new Error(`refused: ${IPC_DIALOG_CHANNELS.save} from a sender that is not the app window`);
    return dialogs.save(sanitizeDialogOptions(options));
  });
  return () => {
    ipc.removeHandler(IPC_DIALOG_CHANNELS.open);
    ipc.removeHandler(IPC_DIALOG_CHANNELS.save);
  };
}
