// The renderer's one way to the host, typed from the contract: over a WebSocket in a browser, over
// the preload's named bridge (window.prs) in Electron. Nothing else in the UI knows which.

import type { ExportWhat } from '../../common/api';
import type {
  ApiMethod,
  ApiParams,
  ApiResult,
  AppEvent,
  ClientFrame,
  PrsBridge,
  ServerFrame,
  TerminalAck,
} from '../../common/contract';
import { bridgeFunction, errorFromWire, WS_PROTOCOL, WS_TOKEN_PREFIX } from '../../common/contract';

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
      else p.reject(errorFromWire(frame.error));
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

/** Electron: each contract call is the bridge's named function for it (both derived from the table). */
export function bridgeClient(prs: PrsBridge): ApiClient {
  return {
    dialogs: prs.dialogs,
    download: null,
    call: (method, params) => bridgeFunction(prs, method)(params),
    ack: (ack) => prs.terminals.ack(ack),
    onEvent: (listener) => prs.onEvent(listener),
  };
}

export function connect(): ApiClient {
  if (window.prs) return bridgeClient(window.prs);
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return wsClient(`${proto}//${location.host}/ws`, takeToken());
}
