// The output browser: a run's append_row file page by page (the host reads byte ranges through a
// sparse line index, never the whole file), jumps to any line, a streamed search that can be
// stopped (its matches highlighted in the rows), rows split into columns, and exports. While the
// run writes, the page is read again each time a mini-batch is committed.

import { Fragment, useEffect, useRef, useState, type ReactNode } from 'react';
import type { OutputPage, SearchMatch } from '../../../common/api';
import type { AppEvent } from '../../../common/contract';
import { formatBytes } from '../../../common/format';
import { detectRowFormat, jsonColumns, splitRow, type RowFormat } from '../../../common/outputRows';
import { useStore } from '../store';
import { ExportMenu } from './ExportMenu';

const PAGE_LINES = 100;

interface SearchState {
  searchId: string;
  /** What was searched for: the rows highlight it. */
  pattern: RegExp | null;
  scanned: number;
  size: number;
  matches: SearchMatch[];
  total: number;
  done: boolean;
  cancelled: boolean;
  error?: string;
}

/** The search as a pattern for highlighting; null when it cannot be one (the host says why). */
function highlightPattern(query: string, regex: boolean, caseSensitive: boolean): RegExp | null {
  const flags = caseSensitive ? 'g' : 'gi';
  try {
    return new RegExp(regex ? query : query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), flags);
  } catch {
    return null;
  }
}

/** `text` with every match of `pattern` in a <mark>. */
function highlighted(text: string, pattern: RegExp | null): ReactNode {
  if (!pattern) return text;
  const parts: ReactNode[] = [];
  let last = 0;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    // An empty match (a regular expression like "x*") marks nothing and must not loop.
    if (m[0] === '') {
      pattern.lastIndex++;
      continue;
    }
    parts.push(text.slice(last, m.index), <mark key={m.index}>{m[0]}</mark>);
    last = m.index + m[0].length;
  }
  if (parts.length === 0) return text;
  parts.push(text.slice(last));
  return <Fragment>{parts}</Fragment>;
}

/** The run's progress while it writes (the store follows its events), so the page can follow it. */
function useLiveWrites(runDir: string): { live: boolean; commits: string } {
  useEffect(() => {
    void useStore.getState().openRun({ runDir }, { quiet: true });
    return () => useStore.getState().closeRun();
  }, [runDir]);
  const live = useStore((s) => s.run?.runDir === runDir && s.run.live);
  const commits = useStore((s) =>
    s.run?.runDir === runDir ? `${s.run.progress.succeeded}/${s.run.progress.failed}/${s.run.status}` : '',
  );
  return { live, commits };
}

export function OutputBrowser({ runDir }: { runDir: string }) {
  const { request, onEvent } = useStore.getState();
  const [page, setPage] = useState<OutputPage | null>(null);
  const pageRef = useRef<OutputPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const { live, commits } = useLiveWrites(runDir);
  const [format, setFormat] = useState<RowFormat | 'auto'>('auto');
  const [goto, setGoto] = useState('');
  const [query, setQuery] = useState('');
  const [regex, setRegex] = useState(false);
  const [caseSensitive, setCaseSensitive] = useState(false);
  const [search, setSearch] = useState<SearchState | null>(null);
  const searchRef = useRef<SearchState | null>(null);

  const show = (r: OutputPage) => {
    pageRef.current = r;
    setPage(r);
    setError(null);
  };
  const load = (p: { start?: number; line?: number }) => {
    request('readOutputPage', { runDir, maxLines: PAGE_LINES, ...p })
      .then(async (r) => {
        setNotice(null);
        // The host answers a line past the end with the last line: say so, and show the last page.
        if (p.line !== undefined && r.firstLine !== p.line) {
          const total = r.totalLines ?? (r.firstLine ?? 0) + r.lines.length;
          setNotice(
            `Line ${p.line + 1} is past the end: the output has ${total} line${total === 1 ? '' : 's'}` +
              (live ? ' so far' : '') +
              '. Showing the last.',
          );
          if (total > r.lines.length)
            r = await request('readOutputPage', {
              runDir,
              maxLines: PAGE_LINES,
              line: Math.max(0, total - PAGE_LINES),
            });
        }
        show(r);
      })
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  };
  useEffect(() => load({ start: 0 }), [runDir]);

  // A mini-batch committed (or the run ended): the same page again, now with the rows it added.
  useEffect(() => {
    const shown = pageRef.current;
    if (commits === '') return;
    const again = shown
      ? shown.firstLine !== null
        ? { line: shown.firstLine }
        : { start: shown.start }
      : {};
    request('readOutputPage', { runDir, maxLines: PAGE_LINES, start: 0, ...again })
      .then(show)
      // No output file yet (the first rows are not written): the next commit tries again.
      .catch(() => undefined);
  }, [commits]);

  // Search progress arrives as events; matches accumulate.
  useEffect(() => {
    return onEvent((e: AppEvent) => {
      const s = searchRef.current;
      if (e.type !== 'search-progress' || !s || e.searchId !== s.searchId) return;
      const next: SearchState = {
        ...s,
        scanned: e.scannedBytes || s.scanned,
        size: e.size || s.size,
        matches: e.matches.length ? [...s.matches, ...e.matches] : s.matches,
        total: e.totalMatches,
        done: e.done,
        cancelled: !!e.cancelled,
        error: e.error,
      };
      searchRef.current = next;
      setSearch(next);
    });
  }, []);
  useEffect(
    () => () => {
      const s = searchRef.current;
      if (s && !s.done) void request('cancelSearch', { searchId: s.searchId });
    },
    [],
  );

  const startSearch = async () => {
    if (query === '') return;
    const prev = searchRef.current;
    if (prev && !prev.done) await request('cancelSearch', { searchId: prev.searchId });
    const { searchId } = await request('searchOutput', {
      runDir,
      query,
      regex,
      caseSensitive,
      limit: 1000,
    });
    const s: SearchState = {
      searchId,
      pattern: highlightPattern(query, regex, caseSensitive),
      scanned: 0,
      size: page?.size ?? 0,
      matches: [],
      total: 0,
      done: false,
      cancelled: false,
    };
    searchRef.current = s;
    setSearch(s);
  };
  const stopSearch = () => {
    const s = searchRef.current;
    if (s && !s.done) void request('cancelSearch', { searchId: s.searchId });
  };

  const lines = page?.lines ?? [];
  const fmt: RowFormat = format === 'auto' ? detectRowFormat(lines) : format;
  const header = fmt === 'json' ? jsonColumns(lines.find((l) => l.trim() !== '') ?? '') : null;
  const first = page?.firstLine ?? null;

  return (
    <main className="output-browser" data-testid="output-browser">
      <div className="title-row">
        <h2>Output</h2>
        <span className="muted">{page ? `${page.path} · ${formatBytes(page.size)}` : runDir}</span>
        <button onClick={() => useStore.getState().navigate({ kind: 'run', runDir })}>Back to the run</button>
        <ExportMenu runDir={runDir} kinds={['output-csv', 'output-jsonl', 'output-parquet']} />
      </div>
      {error && <p className="bad-text">{error}</p>}
      <section className="search">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void startSearch();
          }}
        >
          <input
            aria-label="Search"
            data-testid="search-input"
            placeholder="search"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
          <label>
            <input type="checkbox" checked={regex} onChange={(e) => setRegex(e.target.checked)} /> regular
            expression
          </label>
          <label>
            <input
              type="checkbox"
              checked={caseSensitive}
              onChange={(e) => setCaseSensitive(e.target.checked)}
            />{' '}
            match case
          </label>
          <button type="submit" data-testid="search-start">
            Search
          </button>
          <button
            type="button"
            data-testid="search-stop"
            disabled={!search || search.done}
            onClick={stopSearch}
          >
            Stop
          </button>
        </form>
        {search && (
          <>
            <progress max={search.size || 1} value={search.scanned} data-testid="search-progress" />
            <span
              className="muted"
              data-testid="search-status"
              data-search-state={
                search.done ? (search.cancelled ? 'cancelled' : search.error ? 'error' : 'done') : 'running'
              }
            >
              {search.error
                ? search.error
                : `${search.total} match(es)${search.done ? (search.cancelled ? ', stopped' : '') : ', searching…'} · ${formatBytes(search.scanned)} of ${formatBytes(search.size)}`}
            </span>
            <ul className="search-results">
              {search.matches.slice(0, 500).map((m) => (
                <li key={m.offset} data-testid="search-result">
                  <button className="link" onClick={() => load({ line: m.line })}>
                    line {m.line + 1}
                  </button>{' '}
                  <code>{highlighted(m.text, search.pattern)}</code>
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
      {live && (
        <p className="muted" data-testid="output-live">
          The run is still writing: this page refreshes as mini-batches finish.
        </p>
      )}
      <div className="toolbar">
        <button onClick={() => load({ start: 0 })}>First</button>
        <button
          disabled={!page || page.start === 0}
          onClick={() =>
            first !== null
              ? load({ line: Math.max(0, first - PAGE_LINES) })
              : load({ start: Math.max(0, (page?.start ?? 0) - 16 * 1024) })
          }
        >
          Previous
        </button>
        <button disabled={!page || page.next >= page.size} onClick={() => page && load({ start: page.next })}>
          Next
        </button>
        <button
          onClick={() =>
            page?.totalLines
              ? load({ line: Math.max(0, page.totalLines - PAGE_LINES) })
              : page && load({ start: Math.max(0, page.size - 16 * 1024) })
          }
        >
          Last
        </button>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const n = Number(goto);
            if (Number.isFinite(n) && n >= 1) load({ line: Math.floor(n) - 1 });
          }}
        >
          <input
            aria-label="Go to line"
            data-testid="goto-line"
            placeholder="line"
            value={goto}
            onChange={(e) => setGoto(e.target.value)}
          />
          <button type="submit">Go</button>
        </form>
        <select
          aria-label="Columns"
          value={format}
          onChange={(e) => setFormat(e.target.value as RowFormat | 'auto')}
        >
          <option value="auto">columns: auto ({fmt})</option>
          <option value="space">space-separated</option>
          <option value="csv">CSV</option>
          <option value="json">JSON</option>
          <option value="plain">raw lines</option>
        </select>
        <span className="muted" data-testid="output-position">
          {first !== null ? `lines ${first + 1}–${first + lines.length}` : `from byte ${page?.start ?? 0}`}
          {page?.totalLines != null ? ` of ${page.totalLines}` : ''}
        </span>
      </div>
      {notice && (
        <p className="warn-text" role="status" data-testid="output-notice">
          {notice}
        </p>
      )}
      <div className="output-table">
        <table>
          {header && (
            <thead>
              <tr>
                <th>#</th>
                {header.map((h) => (
                  <th key={h}>{h}</th>
                ))}
              </tr>
            </thead>
          )}
          <tbody>
            {lines.map((l, i) => (
              <tr key={i} data-testid="output-line">
                <td className="muted lineno">{first !== null ? first + i + 1 : ''}</td>
                {splitRow(l, fmt).map((c, j) => (
                  <td key={j}>{highlighted(c, search?.pattern ?? null)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </main>
  );
}
