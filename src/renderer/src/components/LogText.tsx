// A text log of the run folder in the logs browser: read by byte range from the start (or from a
// mini-batch's first line), more on demand, and while the job runs, followed: each read from the end
// waits on the host for the file to grow (readLog's waitMs), so new lines appear as they are written.
// Search highlights every match in what is loaded and steps through them.

import { useEffect, useMemo, useRef, useState } from 'react';
import { formatBytes } from '../../../common/format';
import { useStore } from '../store';

const CHUNK = 256 * 1024;
/** A followed log keeps this much on screen; the file has the rest. */
const KEEP_CHARS = 4 * 1024 * 1024;
const FOLLOW_WAIT_MS = 10_000;

interface Loaded {
  start: number;
  end: number;
  size: number;
  text: string;
}

export function LogText({
  runDir,
  path,
  at,
  focusBatch,
  live,
}: {
  runDir: string;
  path: string;
  /** Byte offset to start reading at (a mini-batch's first line). */
  at?: number;
  /** A mini-batch whose lines to mark (its start and result lines in a process log). */
  focusBatch?: number;
  live: boolean;
}) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [follow, setFollow] = useState(live && at === undefined);
  const [query, setQuery] = useState('');
  const [current, setCurrent] = useState(0);
  const endRef = useRef(0);
  const box = useRef<HTMLPreElement>(null);

  const read = async (start: number, waitMs?: number) => {
    return useStore
      .getState()
      .request('readLog', { runDir, path, start, end: start + CHUNK, ...(waitMs ? { waitMs } : {}) });
  };
  const append = (c: { start: number; end: number; size: number; data: string }) => {
    endRef.current = c.end;
    setLoaded((prev) => {
      if (!prev || c.start !== prev.end) return { start: c.start, end: c.end, size: c.size, text: c.data };
      let text = prev.text + c.data;
      let start = prev.start;
      if (text.length > KEEP_CHARS) {
        // Drop whole lines from the top: the first line shown stays a line.
        const cut = text.indexOf('\n', text.length - KEEP_CHARS);
        start += new TextEncoder().encode(text.slice(0, cut + 1)).length;
        text = text.slice(cut + 1);
      }
      return { start, end: c.end, size: c.size, text };
    });
  };

  useEffect(() => {
    setLoaded(null);
    setError(null);
    endRef.current = 0;
    read(at ?? 0)
      .then((c) => c && append(c))
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  }, [runDir, path, at]);

  useEffect(() => setFollow(live && at === undefined), [path, at, live]);

  // Follow: one read at a time from the end, each waiting on the host until the log grows.
  useEffect(() => {
    if (!follow || !live || loaded === null) return;
    let stopped = false;
    void (async () => {
      while (!stopped) {
        try {
          const c = await read(endRef.current, FOLLOW_WAIT_MS);
          if (stopped || !c) return;
          if (c.end > c.start) append(c);
        } catch (err) {
          if (!stopped) setError(err instanceof Error ? err.message : String(err));
          return;
        }
      }
    })();
    return () => {
      stopped = true;
    };
  }, [follow, live, loaded === null, runDir, path]);

  // The run just ended: one last read picks up its final lines.
  useEffect(() => {
    if (live || loaded === null || !follow) return;
    void read(endRef.current)
      .then((c) => c && c.end > c.start && append(c))
      .catch(() => undefined);
  }, [live]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [loaded?.end, follow]);

  const lines = useMemo(() => (loaded ? loaded.text.split('\n') : []), [loaded?.text]);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const needle = query.toLowerCase();
  const matchLines = useMemo(
    () => (needle === '' ? [] : lines.flatMap((l, i) => (l.toLowerCase().includes(needle) ? [i] : []))),
    [lines, needle],
  );
  const focusText = focusBatch !== undefined ? `mini-batch ${focusBatch} attempt ` : null;

  useEffect(() => {
    setCurrent(0);
  }, [needle]);
  useEffect(() => {
    const i = matchLines[current];
    if (i === undefined) return;
    box.current?.querySelector(`[data-line="${i}"]`)?.scrollIntoView({ block: 'center' });
  }, [current, matchLines]);
  useEffect(() => {
    if (focusText === null) return;
    box.current?.querySelector('.log-line.focus')?.scrollIntoView({ block: 'center' });
  }, [lines, focusText]);

  const step = (d: number) =>
    matchLines.length > 0 && setCurrent((c) => (c + d + matchLines.length) % matchLines.length);

  return (
    <div className="log-file" data-testid="log-file" data-path={path}>
      <div className="toolbar">
        <input
          type="search"
          aria-label="Search this log"
          placeholder="Search this log"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') step(e.shiftKey ? -1 : 1);
          }}
        />
        {needle !== '' && (
          <span className="muted" data-testid="log-matches">
            {matchLines.length === 0
              ? 'no match'
              : `${current + 1} of ${matchLines.length} line${matchLines.length === 1 ? '' : 's'}`}
            {loaded && (loaded.start > 0 || loaded.end < loaded.size) ? ' (in what is loaded)' : ''}
          </span>
        )}
        <button className="small" disabled={matchLines.length === 0} onClick={() => step(-1)}>
          Previous
        </button>
        <button className="small" disabled={matchLines.length === 0} onClick={() => step(1)}>
          Next
        </button>
        <label className={live ? '' : 'muted'}>
          <input
            type="checkbox"
            checked={follow && live}
            disabled={!live}
            onChange={(e) => setFollow(e.target.checked)}
          />{' '}
          Follow while running
        </label>
        {loaded && (
          <span className="muted" data-testid="log-range">
            bytes {loaded.start}–{loaded.end} of {formatBytes(loaded.size)}
          </span>
        )}
      </div>
      {error && <p className="bad-text">{error}</p>}
      {loaded && loaded.start > 0 && (
        <button className="small" onClick={() => void read(0).then((c) => c && append(c))}>
          Show from the start
        </button>
      )}
      <pre className="log-text log-lines" ref={box} data-testid="log-text">
        {lines.map((l, i) => (
          <div
            key={i}
            data-line={i}
            className={
              'log-line' +
              (focusText !== null && l.includes(focusText) ? ' focus' : '') +
              (matchLines[current] === i && needle !== '' ? ' current' : '')
            }
          >
            <Highlighted text={l} needle={needle} />
          </div>
        ))}
      </pre>
      {loaded && loaded.end < loaded.size && !(follow && live) && (
        <button onClick={() => void read(loaded.end).then((c) => c && append(c))}>Load more</button>
      )}
    </div>
  );
}

function Highlighted({ text, needle }: { text: string; needle: string }) {
  if (needle === '') return <>{text || '\u200b'}</>;
  const parts: React.ReactNode[] = [];
  const lower = text.toLowerCase();
  let i = 0;
  for (let j = lower.indexOf(needle); j >= 0; j = lower.indexOf(needle, i)) {
    if (j > i) parts.push(text.slice(i, j));
    parts.push(<mark key={j}>{text.slice(j, j + needle.length)}</mark>);
    i = j + needle.length;
  }
  parts.push(text.slice(i));
  return <>{parts}</>;
}
