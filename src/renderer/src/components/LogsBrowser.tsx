// The logs browser: the run's ParallelRunStep log tree (logs/) beside the file chosen in it. Text
// logs read by range, searched and followed while the job runs; processed_mini-batches.csv as a
// sortable table whose rows open a mini-batch (its inputs, its lines in the process log); the perf
// CSVs as charts. The route carries the file, offset and mini-batch, so a reload keeps the view.

import { useEffect, useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { LogTreeEntry } from '../../../common/api';
import { formatBytes } from '../../../common/format';
import { parseCsv } from '../../../common/csv';
import { useStore, type Page } from '../store';
import { CsvTable, type CsvRows } from './CsvTable';
import { LogText } from './LogText';
import { MiniBatchLogs, type LogTarget } from './MiniBatchLogs';
import { PerfCharts } from './PerfCharts';
import './logsBrowser.css';

type LogsPage = Extract<Page, { kind: 'logs' }>;

/** A log file of the run folder to open, from a byte offset (where an attempt began). */
export interface LogRef {
  path: string;
  start?: number;
}

export const PROCESSED_CSV = 'logs/sys/job_report/processed_mini-batches.csv';
/** A CSV table loads whole up to this; beyond, its first part shows and says so. */
const MAX_TABLE_BYTES = 16 * 1024 * 1024;
const READ = 4 * 1024 * 1024;
const TREE_REFRESH_MS = 3000;

export function LogsBrowser({ page }: { page: LogsPage }) {
  const { run } = useStore(useShallow((s) => ({ run: s.run })));
  const [tree, setTree] = useState<{ entries: LogTreeEntry[]; truncated: boolean } | null>(null);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string | null>(null);
  const live = !!run?.live && run.runDir === page.runDir;
  const file = page.file ?? (page.batch !== undefined ? PROCESSED_CSV : 'logs/job_result.txt');

  useEffect(() => {
    void useStore.getState().openRun({ runId: page.runId, runDir: page.runDir });
    return () => useStore.getState().closeRun();
  }, [page.runId, page.runDir]);

  // The tree is read again when a worker starts or stops (its logs), when the run ends, and every
  // few seconds while it runs (the perf files and listings appear on the monitor's schedule).
  const [reads, setReads] = useState(0);
  const version = useStore((s) => (s.run?.workers.length ?? 0) + (s.run?.live ? 0 : 1000));
  useEffect(() => {
    useStore
      .getState()
      .request('listLogs', { runDir: page.runDir })
      .then(setTree)
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  }, [page.runDir, version, reads]);
  useEffect(() => {
    if (!live) return;
    const t = setInterval(() => setReads((n) => n + 1), TREE_REFRESH_MS);
    return () => clearInterval(t);
  }, [live]);

  const go = (p: Partial<LogsPage>) =>
    useStore.getState().navigate({ kind: 'logs', runDir: page.runDir, runId: page.runId, ...p });
  const open = (t: LogTarget) =>
    go({
      file: t.file,
      ...(t.at !== undefined ? { at: String(t.at) } : {}),
      ...(t.batch !== undefined ? { batch: String(t.batch) } : {}),
    });
  const at = page.at !== undefined && /^\d+$/.test(page.at) ? Number(page.at) : undefined;
  const batch = page.batch !== undefined && /^\d+$/.test(page.batch) ? Number(page.batch) : undefined;

  return (
    <main className="logs-browser" data-testid="logs-browser">
      <div className="section-head">
        <h2>Logs</h2>
        <span className="muted">{run?.name ?? ''}</span>
        <span className="muted">{page.runDir}</span>
        <button onClick={() => setReads((n) => n + 1)}>Refresh the tree</button>
        <button
          onClick={() =>
            useStore.getState().navigate({ kind: 'run', runId: page.runId, runDir: page.runDir })
          }
        >
          Back to the run
        </button>
      </div>
      {error && <p className="bad-text">{error}</p>}
      <div className="logs-layout">
        <nav className="log-tree" aria-label="Log tree">
          <input
            type="search"
            aria-label="Filter files"
            placeholder="Filter files"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
          />
          {tree && (
            <Tree entries={tree.entries} filter={filter} selected={file} onOpen={(f) => open({ file: f })} />
          )}
          {tree?.truncated && <p className="muted">The tree is longer than shown (perf listings).</p>}
        </nav>
        <section className="log-view" aria-label={file}>
          <div className="section-head">
            <h3 data-testid="log-file-path">{file}</h3>
          </div>
          <FileView
            key={file}
            runDir={page.runDir}
            file={file}
            at={at}
            live={live}
            batch={batch}
            onBatch={(id) => go({ file: PROCESSED_CSV, batch: String(id) })}
            onOpen={open}
          />
        </section>
      </div>
    </main>
  );
}

function Tree({
  entries,
  filter,
  selected,
  onOpen,
}: {
  entries: LogTreeEntry[];
  filter: string;
  selected: string;
  onOpen: (path: string) => void;
}) {
  // Process listings (perf/<node>/os) are many and rarely wanted: folded until opened.
  const [toggled, setToggled] = useState<Set<string>>(() => new Set());
  const isClosed = (dir: string) => /\/perf\/[^/]+\/os$/.test(dir) !== toggled.has(dir);
  const closedDirs = entries.filter((e) => e.kind === 'dir' && isClosed(e.path)).map((e) => e.path);
  const f = filter.toLowerCase();
  const shown = entries.filter((e) => {
    if (f) return e.kind !== 'dir' && e.path.toLowerCase().includes(f);
    return !closedDirs.some((c) => e.path.startsWith(c + '/'));
  });
  return (
    <ul className="tree">
      {shown.map((e) => {
        const depth = e.path.split('/').length - 2;
        const name = f ? e.path.replace(/^logs\//, '') : e.path.split('/').pop();
        return (
          <li key={e.path} style={{ paddingLeft: `${(f ? 0 : depth) * 0.9}em` }}>
            {e.kind === 'dir' ? (
              <button
                className="link tree-dir"
                data-path={e.path}
                aria-expanded={!isClosed(e.path)}
                onClick={() =>
                  setToggled((c) => {
                    const n = new Set(c);
                    if (n.has(e.path)) n.delete(e.path);
                    else n.add(e.path);
                    return n;
                  })
                }
              >
                {isClosed(e.path) ? '▸' : '▾'} {name}/
              </button>
            ) : (
              <button
                className="link tree-file"
                data-testid="log-node"
                data-path={e.path}
                aria-current={e.path === selected ? 'true' : undefined}
                disabled={e.kind === 'link'}
                title={e.kind === 'link' ? 'a symbolic link: not followed' : e.path}
                onClick={() => onOpen(e.path)}
              >
                {name} <span className="muted">{e.kind === 'link' ? 'link' : formatBytes(e.size)}</span>
              </button>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function FileView({
  runDir,
  file,
  at,
  live,
  batch,
  onBatch,
  onOpen,
}: {
  runDir: string;
  file: string;
  at?: number;
  live: boolean;
  batch?: number;
  onBatch: (id: number) => void;
  onOpen: (t: LogTarget) => void;
}) {
  if (file.endsWith('.csv')) {
    return (
      <CsvFile
        runDir={runDir}
        file={file}
        live={live}
        batch={file === PROCESSED_CSV ? batch : undefined}
        onBatch={file === PROCESSED_CSV ? onBatch : undefined}
        onOpen={onOpen}
      />
    );
  }
  return <LogText runDir={runDir} path={file} at={at} focusBatch={batch} live={live} />;
}

/** A CSV file, whole (up to MAX_TABLE_BYTES), and followed while the run writes it. */
function useCsvFile(runDir: string, file: string, live: boolean) {
  const [state, setState] = useState<{ text: string; end: number; size: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stopped = false;
    const { request } = useStore.getState();
    void (async () => {
      let text = '';
      let end = 0;
      try {
        for (;;) {
          const following = live && end > 0;
          const c = await request('readLog', {
            runDir,
            path: file,
            start: end,
            end: end + READ,
            ...(following ? { waitMs: 10_000 } : {}),
          });
          if (stopped) return;
          text += c.data;
          end = c.end;
          setState({ text, end, size: c.size });
          if (end >= MAX_TABLE_BYTES) return;
          if (c.end >= c.size && !live) return;
        }
      } catch (err) {
        if (!stopped) setError(err instanceof Error ? err.message : String(err));
      }
    })();
    return () => {
      stopped = true;
    };
  }, [runDir, file, live]);
  return { state, error };
}

function CsvFile({
  runDir,
  file,
  live,
  batch,
  onBatch,
  onOpen,
}: {
  runDir: string;
  file: string;
  live: boolean;
  batch?: number;
  onBatch?: (id: number) => void;
  onOpen: (t: LogTarget) => void;
}) {
  const { state, error } = useCsvFile(runDir, file, live);
  const [asTable, setAsTable] = useState(!file.startsWith('logs/perf/'));
  const csv: CsvRows | null = useMemo(() => {
    if (!state) return null;
    // A row still being written (no newline yet) waits for the next read.
    const whole =
      state.end < state.size || live ? state.text.slice(0, state.text.lastIndexOf('\n') + 1) : state.text;
    const [header = [], ...rows] = parseCsv(whole);
    return { header, rows: rows.filter((r) => r.length > 1 || r[0] !== '') };
  }, [state, live]);
  if (error) return <p className="bad-text">{error}</p>;
  if (!csv || !state) return <p className="muted">Reading…</p>;
  const id = batch ?? null;
  return (
    <div className="csv-file">
      <div className="toolbar">
        <span className="muted" data-testid="csv-count">
          {csv.rows.length} row{csv.rows.length === 1 ? '' : 's'}
          {state.end < state.size
            ? ` (the first ${formatBytes(state.end)} of ${formatBytes(state.size)})`
            : ''}
        </span>
        {file.startsWith('logs/perf/') && (
          <div className="seg">
            <button aria-pressed={!asTable} onClick={() => setAsTable(false)}>
              Charts
            </button>
            <button aria-pressed={asTable} onClick={() => setAsTable(true)}>
              Table
            </button>
          </div>
        )}
        {onBatch && <span className="muted">Click a row for the mini-batch's inputs and log lines.</span>}
      </div>
      <div className={id !== null ? 'csv-with-detail' : ''}>
        {asTable ? (
          <CsvTable
            csv={csv}
            label={file.split('/').pop() ?? file}
            selected={id !== null ? String(id) : undefined}
            onRow={onBatch ? (r) => /^\d+$/.test(r[0]) && onBatch(Number(r[0])) : undefined}
            scrollTo={id !== null ? String(id) : undefined}
          />
        ) : (
          <PerfCharts csv={csv} />
        )}
        {id !== null && (
          <aside className="batch-detail" data-testid="mb-detail">
            <div className="section-head">
              <h4>Mini-batch {id}</h4>
            </div>
            <MiniBatchLogs runDir={runDir} miniBatchId={id} onOpen={onOpen} />
          </aside>
        )}
      </div>
    </div>
  );
}
