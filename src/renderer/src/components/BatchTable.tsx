// The mini-batch table: one row per mini-batch (its latest attempt decides the status), virtualised
// so 100,000 rows scroll smoothly; a selected row shows every attempt with its durations, error and
// traceback, and opens the log of the process that ran it from where that attempt began.

import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { AttemptRow } from '../../../common/api';
import { useStore } from '../store';
import { PROCESSED_CSV, type LogRef } from './LogsBrowser';
import { MiniBatchLogs } from './MiniBatchLogs';

interface BatchRow {
  id: number;
  status: AttemptRow['status'];
  attempts: AttemptRow[];
}

type Filter = 'all' | 'succeeded' | 'failed' | 'running' | 'stopped' | 'retried';

function fmtS(s: number | undefined): string {
  return s === undefined ? '—' : s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}

export function BatchTable({
  runId,
  runDir,
  onLog,
  selected,
  onSelect,
  reveal,
}: {
  runId: string;
  runDir: string;
  onLog: (l: LogRef) => void;
  selected: number | null;
  onSelect: (id: number | null) => void;
  /** Scroll to this mini-batch's row (a diagnosis chip); a new `n` is a new request. */
  reveal: { id: number; n: number } | null;
}) {
  const { attempts, version, findings } = useStore(
    useShallow((s) => ({
      attempts: s.attempts,
      version: s.attemptsVersion,
      findings: s.run?.findings ?? [],
    })),
  );
  const [filter, setFilter] = useState<Filter>('all');
  const rows = useMemo(() => {
    const byId = new Map<number, BatchRow>();
    for (const a of attempts) {
      const r = byId.get(a.miniBatchId) ?? { id: a.miniBatchId, status: a.status, attempts: [] };
      r.attempts.push(a);
      byId.set(a.miniBatchId, r);
    }
    const all = [...byId.values()].sort((a, b) => a.id - b.id);
    for (const r of all) {
      r.attempts.sort((a, b) => a.attempt - b.attempt);
      r.status = r.attempts[r.attempts.length - 1].status;
    }
    return all;
  }, [attempts, version]);
  const shown = useMemo(
    () =>
      rows.filter((r) =>
        filter === 'all'
          ? true
          : filter === 'retried'
            ? r.attempts.length > 1
            : filter === 'failed'
              ? // A mini-batch the leader stopped as the job ended did not fail: it is 'stopped'.
                r.status !== 'succeeded' && r.status !== 'running' && r.status !== 'stopped'
              : r.status === filter,
      ),
    [rows, filter],
  );
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: shown.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 28,
    overscan: 12,
  });
  const section = useRef<HTMLElement>(null);
  const revealed = useRef(0);
  useEffect(() => {
    if (!reveal || revealed.current === reveal.n) return;
    const i = shown.findIndex((r) => r.id === reveal.id);
    if (i < 0) {
      // Hidden by the status filter: show every row, then scroll on the next render.
      if (filter !== 'all' && rows.some((r) => r.id === reveal.id)) setFilter('all');
      return;
    }
    revealed.current = reveal.n;
    section.current?.scrollIntoView({ block: 'start' });
    virtual.scrollToIndex(i, { align: 'center' });
  }, [reveal, shown]);
  const sel = selected !== null ? rows.find((r) => r.id === selected) : undefined;
  return (
    <section className="batches" aria-label="Mini-batches" ref={section}>
      <div className="section-head">
        <h3>Mini-batches</h3>
        <label>
          Status{' '}
          <select
            aria-label="Filter by status"
            value={filter}
            onChange={(e) => setFilter(e.target.value as Filter)}
          >
            <option value="all">all ({rows.length})</option>
            <option value="succeeded">succeeded</option>
            <option value="failed">failed</option>
            <option value="running">running</option>
            <option value="stopped">stopped</option>
            <option value="retried">retried</option>
          </select>
        </label>
        <span className="muted" data-testid="batch-count">
          {shown.length} shown
        </span>
      </div>
      <div className="batch-layout">
        <div className="table-scroll" ref={scroller} data-testid="batch-table">
          <div className="vrow head">
            <span>#</span>
            <span>status</span>
            <span>attempts</span>
            <span>process</span>
            <span>elapsed</span>
            <span>error</span>
          </div>
          <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
            {virtual.getVirtualItems().map((v) => {
              const r = shown[v.index];
              const last = r.attempts[r.attempts.length - 1];
              return (
                <div
                  key={r.id}
                  role="row"
                  aria-selected={r.id === selected}
                  className={`vrow ${r.status}`}
                  style={{
                    position: 'absolute',
                    top: 0,
                    left: 0,
                    right: 0,
                    height: v.size,
                    transform: `translateY(${v.start}px)`,
                  }}
                  onClick={() => onSelect(r.id)}
                  data-testid="batch-row"
                  data-batch={r.id}
                >
                  <span>{r.id}</span>
                  <span className={`badge ${r.status}`}>{r.status}</span>
                  <span>{r.attempts.length}</span>
                  <span>{last.process}</span>
                  <span>{fmtS(last.elapsedS)}</span>
                  <span className="err">{last.error ?? ''}</span>
                </div>
              );
            })}
          </div>
        </div>
        {sel && (
          <aside className="batch-detail" data-testid="batch-detail">
            <div className="section-head">
              <h4>Mini-batch {sel.id}</h4>
              <button className="small" onClick={() => onSelect(null)}>
                Close
              </button>
            </div>
            {sel.attempts.map((a) => {
              const tb = findings.find((f) => f.miniBatchId === a.miniBatchId && f.traceback)?.traceback;
              return (
                <div key={a.attempt} className="attempt">
                  <div>
                    <strong>Attempt {a.attempt}</strong> · {a.process} ·{' '}
                    <span className={`badge ${a.status}`}>{a.status}</span>
                  </div>
                  <div className="muted">
                    {a.startedAt ? new Date(a.startedAt).toLocaleTimeString() : ''} · elapsed{' '}
                    {fmtS(a.elapsedS)} · CPU {fmtS(a.processTimeS)} · run() {fmtS(a.runTimeS)}
                    {a.itemsTotal !== undefined && ` · items ${a.itemsSucceeded ?? 0}/${a.itemsTotal}`}
                  </div>
                  {a.error && <pre className="traceback">{a.error}</pre>}
                  {tb && tb !== a.error && (
                    <details>
                      <summary>Traceback</summary>
                      <pre className="traceback">{tb}</pre>
                    </details>
                  )}
                  <button
                    className="small"
                    onClick={() =>
                      onLog({
                        path: `logs/user/stdout/${a.nodeId}/${a.process}.stdout.txt`,
                        start: a.stdoutOffset,
                      })
                    }
                  >
                    {a.process} log at this attempt
                  </button>{' '}
                  <button
                    className="small"
                    onClick={() => onLog({ path: `logs/sys/node/${a.nodeId}/${a.process}.txt` })}
                  >
                    {a.process} system log
                  </button>
                </div>
              );
            })}
            <h4>In the log tree</h4>
            <MiniBatchLogs
              runDir={runDir}
              miniBatchId={sel.id}
              onOpen={(t) =>
                useStore.getState().navigate({
                  kind: 'logs',
                  runDir,
                  runId,
                  file: t.file,
                  ...(t.at !== undefined ? { at: String(t.at) } : {}),
                  ...(t.batch !== undefined ? { batch: String(t.batch) } : {}),
                })
              }
            />
            <button
              className="small"
              data-testid="open-in-logs"
              onClick={() =>
                useStore
                  .getState()
                  .navigate({ kind: 'logs', runDir, runId, file: PROCESSED_CSV, batch: String(sel.id) })
              }
            >
              Its rows in processed_mini-batches.csv
            </button>
          </aside>
        )}
      </div>
    </section>
  );
}
