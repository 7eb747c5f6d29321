// History: every run from the history index (and this host's live ones), filtered, sorted and shown
// a page at a time (hundreds of runs stay quick to scroll, and the header stays in view); open one in
// the run view, run it again, resume it, or delete its folder (after asking; its row goes with it).

import { useEffect, useMemo, useState } from 'react';
import type { HistoryItem } from '../../../common/api';
import { formatDuration } from '../../../common/format';
import { runBadge } from '../runStatus';
import { useStore } from '../store';
import { RunActions } from './RunActions';

type SortKey = 'startedAt' | 'name' | 'runId' | 'status' | 'durationS';

/** Rows on one page of the table. */
export const HISTORY_PAGE = 50;

export function HistoryView() {
  const { request } = useStore.getState();
  const runsVersion = useStore((s) => s.runs);
  const [items, setItems] = useState<HistoryItem[] | null>(null);
  const [filter, setFilter] = useState('');
  const [status, setStatus] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'startedAt', desc: true });
  const [message, setMessage] = useState<string | null>(null);
  const [pageNo, setPageNo] = useState(0);

  const reload = () => {
    request('history', {})
      .then(setItems)
      .catch((err: unknown) => setMessage(String(err)));
  };
  // runs-changed refreshes the store's run list: reload with it.
  useEffect(reload, [runsVersion]);

  const shown = useMemo(() => {
    const f = filter.toLowerCase();
    const list = (items ?? []).filter(
      (i) =>
        (!f || i.name.toLowerCase().includes(f) || i.runDir.toLowerCase().includes(f)) &&
        (!status || filterStatusOf(i) === status),
    );
    const dir = sort.desc ? -1 : 1;
    return list.sort((a, b) => {
      const x = a[sort.key] ?? -1;
      const y = b[sort.key] ?? -1;
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
  }, [items, filter, status, sort]);
  // A new filter or order starts at the first page; a page past the end (rows deleted) is the last.
  useEffect(() => setPageNo(0), [filter, status, sort]);
  const pages = Math.max(1, Math.ceil(shown.length / HISTORY_PAGE));
  const current = Math.min(pageNo, pages - 1);
  const visible = shown.slice(current * HISTORY_PAGE, (current + 1) * HISTORY_PAGE);

  const act = async (what: () => Promise<unknown>) => {
    try {
      await what();
      setMessage(null);
    } catch (err) {
      setMessage(err instanceof Error ? err.message : String(err));
    }
  };
  const navigate = useStore.getState().navigate;
  const head = (key: SortKey, label: string) => (
    <th>
      <button
        className="link"
        onClick={() => setSort({ key, desc: sort.key === key ? !sort.desc : key !== 'name' })}
      >
        {label}
        {sort.key === key ? (sort.desc ? ' ▼' : ' ▲') : ''}
      </button>
    </th>
  );

  return (
    <main className="history" data-testid="history">
      <div className="toolbar">
        <h2>History</h2>
        <input
          aria-label="Filter"
          data-testid="history-filter"
          placeholder="filter by name or folder"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
        <select aria-label="Status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">any status</option>
          {[
            'running',
            'completed',
            'completed with failures',
            'failed',
            'cancelled',
            'interrupted',
            'missing',
          ].map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </div>
      {message && <p className="bad-text">{message}</p>}
      {items === null && <p className="muted">Loading…</p>}
      {items?.length === 0 && <p className="muted">No runs recorded yet.</p>}
      {shown.length > HISTORY_PAGE && (
        <div className="toolbar" data-testid="history-pager">
          <button disabled={current === 0} onClick={() => setPageNo(current - 1)}>
            Previous
          </button>
          <button disabled={current >= pages - 1} onClick={() => setPageNo(current + 1)}>
            Next
          </button>
          <span className="muted" data-testid="history-range">
            runs {current * HISTORY_PAGE + 1}–{current * HISTORY_PAGE + visible.length} of {shown.length}
          </span>
        </div>
      )}
      <table className="runs history-table">
        <thead>
          <tr>
            {head('name', 'Name')}
            {head('runId', 'Run id')}
            {head('status', 'Status')}
            <th>Mini-batches</th>
            <th>Items</th>
            {head('startedAt', 'Started')}
            {head('durationS', 'Duration')}
            <th />
          </tr>
        </thead>
        <tbody>
          {visible.map((r) => {
            const s = statusOf(r);
            const badge = runBadge(s, r.miniBatches?.failed ?? 0);
            return (
              <tr key={r.runDir} data-testid="history-row" data-run-dir={r.runDir}>
                <td>
                  {r.name}
                  {r.pipeline && <span className="muted"> (pipeline)</span>}
                </td>
                <td>
                  <code data-testid="history-run-id">{r.runId}</code>
                </td>
                <td>
                  <span className={`badge ${badge.cls}`} data-testid="history-status">
                    {badge.label}
                  </span>
                </td>
                <td>
                  {r.miniBatches
                    ? `${r.miniBatches.succeeded}/${r.miniBatches.total} (${r.miniBatches.failed} failed)`
                    : '—'}
                </td>
                <td>{r.items ? `${r.items.succeeded} ok · ${r.items.failed} failed` : '—'}</td>
                <td>{new Date(r.startedAt).toLocaleString()}</td>
                <td>{r.durationS !== null ? formatDuration(r.durationS) : '—'}</td>
                <td className="actions">
                  <button
                    disabled={r.folder === 'missing'}
                    onClick={() =>
                      navigate(
                        r.pipeline
                          ? { kind: 'pipeline', runDir: r.runDir }
                          : { kind: 'run', runId: r.runId, runDir: r.runDir },
                      )
                    }
                  >
                    Open
                  </button>
                  <RunActions
                    runId={r.runId}
                    runDir={r.runDir}
                    status={r.status}
                    live={r.live}
                    interrupted={r.interrupted}
                    failedBatches={r.miniBatches?.failed ?? 0}
                    specPath={r.specPath}
                    allowReuse={!r.pipeline}
                    disabled={r.folder === 'missing'}
                    pipeline={r.pipeline}
                  />
                  <button
                    className="danger"
                    disabled={r.folder === 'missing' || r.live}
                    onClick={() =>
                      window.confirm(`Delete the run folder ${r.runDir} and everything in it?`) &&
                      void act(async () => {
                        await request('deleteRun', { runDir: r.runDir });
                        // The host forgot it too; the row goes now, not at the next reload.
                        setItems((list) => list?.filter((i) => i.runDir !== r.runDir) ?? null);
                        reload();
                      })
                    }
                  >
                    Delete
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </main>
  );
}

function statusOf(r: HistoryItem): string {
  if (r.folder === 'missing') return 'missing';
  if (r.interrupted) return 'interrupted';
  return r.live ? 'running' : r.status;
}

/** What the status filter compares: the badge's words, so 'completed with failures' is its own. */
function filterStatusOf(r: HistoryItem): string {
  return runBadge(statusOf(r), r.miniBatches?.failed ?? 0).label;
}
