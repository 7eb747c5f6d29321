// "Shell here": an interactive terminal in the worker's environment, run by the host (node-pty). It
// stays open when the run ends: it is the user's, closed by them (or by leaving the run view).

import { useEffect, useRef, useState } from 'react';
import { useStore } from '../store';
import { createShellTerminal } from '../terminals';

export function ShellPane({
  runId,
  runDir,
  process,
  onClose,
}: {
  runId: string;
  runDir: string;
  process: string;
  onClose: () => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const { request, onEvent } = useStore.getState();
    const host = box.current;
    if (!host) return;
    let shellId: string | null = null;
    let closed = false;
    const t = createShellTerminal(host, (data) => {
      if (shellId) void request('shellInput', { shellId, data }).catch(() => undefined);
    });
    const off = onEvent((e) => {
      if (e.type === 'shell-output' && e.shellId === shellId) t.term.write(e.data);
      if (e.type === 'shell-exit' && e.shellId === shellId)
        t.term.write(`\r\n[shell exited with code ${e.code}]\r\n`);
    });
    request('openShell', { runId, runDir, process, cols: t.term.cols, rows: t.term.rows })
      .then((r) => {
        if (closed) void request('closeShell', { shellId: r.shellId });
        else shellId = r.shellId;
        t.term.focus();
      })
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
    const ro = new ResizeObserver(() => {
      t.fit();
      if (shellId)
        void request('shellResize', { shellId, cols: t.term.cols, rows: t.term.rows }).catch(() => undefined);
    });
    ro.observe(host);
    return () => {
      closed = true;
      ro.disconnect();
      off();
      if (shellId) void request('closeShell', { shellId }).catch(() => undefined);
      t.dispose();
    };
  }, [runId, runDir, process]);
  return (
    <section className="shell-pane" aria-label={`Shell in ${process}'s environment`}>
      <div className="section-head">
        <h3>Shell in {process}'s environment</h3>
        <button onClick={onClose}>Close</button>
      </div>
      {error && <p className="bad-text">{error}</p>}
      <div ref={box} className="terminal shell" data-testid="shell-terminal" />
    </section>
  );
}
