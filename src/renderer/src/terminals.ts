// A registry of xterm.js instances, one per (run, terminal). Terminal bytes are written here
// directly and never enter React or store state (Hyper's rule). Each write's callback acknowledges
// what xterm has parsed, which is what lets the host apply back-pressure.

import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import type { TerminalAck } from '../../common/contract';
import { formatBytes } from '../../common/format';

interface Entry {
  term: Terminal;
  fit: FitAddon;
  /** Characters written and parsed, shown to tests as data-received on the host element. */
  received: number;
  host: HTMLElement | null;
  pendingAck: number;
  ackTimer: number | null;
}

type AckSink = (ack: TerminalAck) => void;

const entries = new Map<string, Entry>();
let ackSink: AckSink = () => undefined;

const key = (runId: string, term: string) => `${runId}\n${term}`;

export function setAckSink(sink: AckSink): void {
  ackSink = sink;
}

function entry(runId: string, name: string): Entry {
  const k = key(runId, name);
  let e = entries.get(k);
  if (!e) {
    const term = new Terminal({
      convertEol: true,
      scrollback: 5000,
      fontSize: 12,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
      theme: { background: '#10141a', foreground: '#d8dee9' },
      disableStdin: true,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    e = { term, fit, received: 0, host: null, pendingAck: 0, ackTimer: null };
    entries.set(k, e);
  }
  return e;
}

/** Write host output; acknowledge once xterm has parsed it. */
export function writeTerminal(runId: string, name: string, data: string, ack = true): void {
  const e = entry(runId, name);
  e.term.write(data, () => {
    e.received += data.length;
    if (e.host) e.host.dataset.received = String(e.received);
    if (!ack) return;
    e.pendingAck += data.length;
    // Coalesce acks: one message per ~30 ms per terminal is plenty for flow control.
    e.ackTimer ??= window.setTimeout(() => {
      const chars = e.pendingAck;
      e.pendingAck = 0;
      e.ackTimer = null;
      ackSink({ runId, term: name, chars });
    }, 30);
  });
}

export function noteDropped(runId: string, name: string, bytes: number): void {
  writeTerminal(
    runId,
    name,
    `\r\n\x1b[33m[${formatBytes(bytes)} not shown, open the full log]\x1b[0m\r\n`,
    false,
  );
}

/** Attach a terminal to a DOM element (moving it if it was shown elsewhere). */
export function attachTerminal(runId: string, name: string, host: HTMLElement): () => void {
  const e = entry(runId, name);
  e.host = host;
  host.dataset.received = String(e.received);
  if (!e.term.element) e.term.open(host);
  else host.appendChild(e.term.element);
  const refit = () => {
    try {
      if (host.clientWidth > 0 && host.clientHeight > 0) e.fit.fit();
    } catch {
      // Not laid out yet.
    }
  };
  refit();
  const ro = new ResizeObserver(refit);
  ro.observe(host);
  return () => {
    ro.disconnect();
    if (e.host === host) e.host = null;
  };
}

/** Forget a run's terminals (the run view closed). */
export function disposeRunTerminals(runId: string): void {
  for (const [k, e] of entries) {
    if (k.startsWith(`${runId}\n`)) {
      if (e.ackTimer) clearTimeout(e.ackTimer);
      e.term.dispose();
      entries.delete(k);
    }
  }
}

/** An interactive terminal (Shell here): input goes back to the host. */
export function createShellTerminal(
  host: HTMLElement,
  onInput: (data: string) => void,
): {
  term: Terminal;
  fit: () => void;
  dispose: () => void;
} {
  const term = new Terminal({
    fontSize: 12,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
    theme: { background: '#0b0e13', foreground: '#e5e9f0' },
    cursorBlink: true,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(host);
  const doFit = () => {
    try {
      fit.fit();
    } catch {
      // Not laid out yet.
    }
  };
  doFit();
  const sub = term.onData(onInput);
  return {
    term,
    fit: doFit,
    dispose: () => {
      sub.dispose();
      term.dispose();
    },
  };
}
