// A v2 pipeline run as a graph: one card per node (its type, status and timings), placed in columns
// by how many nodes come before it, with an arrow from each node to those that read its outputs.
// A parallel node opens in the run view (its folder is a run folder of its own). The view reads
// the pipeline's folder again whenever the host says runs changed, and every second while running.

import { useEffect, useMemo, useState } from 'react';
import type { PipelineNodeInfo, PipelineSnapshot } from '../../../common/api';
import { formatDuration } from '../../../common/format';
import { useStore } from '../store';

const CARD_W = 220;
const CARD_H = 96;
const GAP_X = 60;
const GAP_Y = 24;

export function PipelineView({ runDir }: { runDir: string }) {
  const runsVersion = useStore((s) => s.runs);
  const [snap, setSnap] = useState<PipelineSnapshot | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stop = false;
    const load = () =>
      useStore
        .getState()
        .request('openPipeline', { runDir })
        .then((s) => !stop && (setSnap(s), setError(null)))
        .catch((err: unknown) => !stop && setError(err instanceof Error ? err.message : String(err)));
    void load();
    const timer = setInterval(() => void load(), 1000);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [runDir, runsVersion]);

  const layout = useMemo(() => (snap ? place(snap.nodes) : null), [snap]);
  const navigate = useStore.getState().navigate;
  if (error) return <p className="bad-text">{error}</p>;
  if (!snap || !layout) return <p className="muted">Loading…</p>;

  return (
    <main className="pipeline" data-testid="pipeline-view" data-status={snap.status}>
      <div className="run-header">
        <h2>{snap.name}</h2>
        <div>
          <span className={`badge ${snap.status}`} data-testid="pipeline-status">
            {snap.status}
          </span>
          <span className="muted">
            {' '}
            pipeline · {snap.nodes.length} node(s)
            {snap.durationS !== null ? ` · ${formatDuration(snap.durationS)}` : ''}
          </span>
        </div>
      </div>
      <p className="muted">{snap.runDir}</p>
      {snap.reason && snap.status !== 'completed' && (
        <p className="bad-text" data-testid="pipeline-reason">
          {snap.reason}
        </p>
      )}
      <div className="pipeline-graph" style={{ width: layout.width, height: layout.height }}>
        <svg width={layout.width} height={layout.height} aria-hidden="true">
          {snap.nodes.flatMap((n) =>
            n.dependsOn.map((d) => {
              const a = layout.at.get(d)!;
              const b = layout.at.get(n.name)!;
              return (
                <line
                  key={`${d}->${n.name}`}
                  x1={a.x + CARD_W}
                  y1={a.y + CARD_H / 2}
                  x2={b.x}
                  y2={b.y + CARD_H / 2}
                  className="pipeline-edge"
                />
              );
            }),
          )}
        </svg>
        {snap.nodes.map((n) => {
          const p = layout.at.get(n.name)!;
          const opens = n.type === 'parallel' && n.status !== 'pending' && n.status !== 'skipped';
          return (
            <div
              key={n.name}
              className={`pipeline-node ${n.status}`}
              style={{ left: p.x, top: p.y, width: CARD_W, height: CARD_H }}
              data-testid="pipeline-node"
              data-node={n.name}
              data-status={n.status}
              title={n.reason ?? n.runDir}
            >
              <div className="pipeline-node-head">
                <strong>{n.name}</strong> <span className="muted">{n.type}</span>
              </div>
              <div>
                <span className={`badge ${n.status}`}>{n.status}</span>
                {n.durationS !== null && <span className="muted"> {formatDuration(n.durationS)}</span>}
                {n.miniBatches && (
                  <span className="muted">
                    {' '}
                    · {n.miniBatches.succeeded}/{n.miniBatches.total} mini-batches
                  </span>
                )}
              </div>
              {n.reason && <div className="pipeline-node-reason">{n.reason}</div>}
              {opens && <button onClick={() => navigate({ kind: 'run', runDir: n.runDir })}>Open run</button>}
            </div>
          );
        })}
      </div>
      {snap.notices.length > 0 && (
        <ul className="muted">
          {snap.notices.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </main>
  );
}

/** Column = the longest chain of nodes before it; rows in the order the file writes them. */
function place(nodes: PipelineNodeInfo[]) {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const level = new Map<string, number>();
  const levelOf = (name: string, seen = new Set<string>()): number => {
    const known = level.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0; // a cycle: the loader refuses those, draw it flat anyway
    seen.add(name);
    const deps = byName.get(name)?.dependsOn ?? [];
    const l = deps.length ? 1 + Math.max(...deps.map((d) => levelOf(d, seen))) : 0;
    level.set(name, l);
    return l;
  };
  const rows = new Map<number, number>();
  const at = new Map<string, { x: number; y: number }>();
  for (const n of nodes) {
    const col = levelOf(n.name);
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    at.set(n.name, { x: col * (CARD_W + GAP_X), y: row * (CARD_H + GAP_Y) });
  }
  const cols = Math.max(0, ...level.values()) + 1;
  const maxRows = Math.max(1, ...rows.values());
  return {
    at,
    width: cols * (CARD_W + GAP_X) - GAP_X,
    height: maxRows * (CARD_H + GAP_Y) - GAP_Y,
  };
}
