// The run view: header, diagnosis, worker tiles, terminals, graphs and the mini-batch table. It is
// the same for a live run (events) and a finished one (read back from its folder).

import { useEffect, useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { LEADER_TERMINAL } from '../../../common/api';
import { formatBytes, formatDuration } from '../../../common/format';
import type { Finding, RunNode } from '../../../common/events';
import { runBadge, workerStateText } from '../runStatus';
import { useStore } from '../store';
import { attachTerminal } from '../terminals';
import { BatchTable } from './BatchTable';
import { LoggedMetrics } from './LoggedMetrics';
import { NodesPanel, showsNodes } from './NodesPanel';
import { ExportMenu } from './ExportMenu';
import { Graphs } from './Graphs';
import type { LogRef } from './LogsBrowser';
import { RunActions } from './RunActions';
import { ShellPane } from './ShellPane';

export function RunView({ runId, runDir }: { runId?: string; runDir?: string }) {
  const run = useStore((s) => s.run);
  const [shellFor, setShellFor] = useState<string | null>(null);
  // One node's workers and terminals only (the nodes panel's filter); null: every node.
  const [nodeFilter, setNodeFilter] = useState<string | null>(null);
  const [selectedBatch, setSelectedBatch] = useState<number | null>(null);
  // A diagnosis chip's request to bring a mini-batch's row into view (n: each click is a new one).
  const [reveal, setReveal] = useState<{ id: number; n: number } | null>(null);

  useEffect(() => {
    void useStore.getState().openRun({ runId, runDir });
    return () => useStore.getState().closeRun();
  }, [runId, runDir]);

  if (!run) return <p className="muted">Opening run…</p>;
  // A log file opens in the logs browser (search, follow while running), at the offset given.
  const setLog = (l: LogRef) =>
    useStore.getState().navigate({
      kind: 'logs',
      runDir: run.runDir,
      runId: run.runId,
      file: l.path,
      ...(l.start !== undefined ? { at: String(l.start) } : {}),
    });
  return (
    <main className="run-view" data-run-state={run.status} data-testid="run-view">
      <RunHeader />
      {run.summary?.reused_from && <Reused from={run.summary.reused_from} />}
      <Diagnosis
        findings={run.findings}
        reason={run.summary?.reason}
        onLog={setLog}
        onBatch={(id) => {
          setSelectedBatch(id);
          setReveal((r) => ({ id, n: (r?.n ?? 0) + 1 }));
        }}
      />
      <RunNodes filter={nodeFilter} onFilter={setNodeFilter} />
      <WorkerTiles onShell={setShellFor} nodeFilter={nodeFilter} />
      {shellFor && (
        <ShellPane
          runId={run.runId}
          runDir={run.runDir}
          process={shellFor}
          onClose={() => setShellFor(null)}
        />
      )}
      <Terminals runId={run.runId} onLog={setLog} nodeFilter={nodeFilter} />
      <Graphs />
      <LoggedMetrics logged={run.summary?.logged_metrics} />
      <BatchTable
        runId={run.runId}
        runDir={run.runDir}
        onLog={setLog}
        selected={selectedBatch}
        onSelect={setSelectedBatch}
        reveal={reveal}
      />
    </main>
  );
}

function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

function RunHeader() {
  const { run } = useStore(useShallow((s) => ({ run: s.run })));
  const now = useNow(!!run?.live);
  if (!run) return null;
  const p = run.progress;
  // A resumed run's time is its whole life: the earlier sessions', then this one's as it ticks.
  const session = run.resumed ?? { priorElapsedS: 0, sessionStartedAt: run.startedAt };
  const elapsed = run.live
    ? Math.max(p.elapsedS, session.priorElapsedS + (now - session.sessionStartedAt) / 1000)
    : p.elapsedS;
  const total = p.total ?? p.planned;
  const done = p.succeeded + p.failed;
  const pct = total > 0 ? (100 * done) / total : 0;
  const items = p.itemsSucceeded + p.itemsFailed;
  const reused = !!run.summary?.reused_from;
  const throughput = elapsed > 0 && !reused ? items / elapsed : 0;
  const badge = runBadge(run.status, p.failed);
  return (
    <section className="run-header">
      <div className="title-row">
        <h2>{run.name}</h2>
        <span className={`badge ${badge.cls}`} data-testid="run-status">
          {reused ? `${badge.label} (reused)` : badge.label}
        </span>
        {run.resumed && (
          <span className="muted" data-testid="resumed">
            resumed {run.resumed.count === 1 ? 'once' : `${run.resumed.count} times`}
          </span>
        )}
        <span className="muted">{run.runDir}</span>
        <button
          data-testid="browse-output"
          onClick={() => useStore.getState().navigate({ kind: 'output', runDir: run.runDir })}
        >
          Browse output
        </button>
        <button
          data-testid="browse-logs"
          onClick={() => useStore.getState().navigate({ kind: 'logs', runDir: run.runDir, runId: run.runId })}
        >
          Logs
        </button>
        <ExportMenu runDir={run.runDir} kinds={['logs-zip', 'run-zip']} />
      </div>
      <div className="title-row">
        <RunActions
          runId={run.runId}
          runDir={run.runDir}
          status={run.status}
          live={run.live}
          interrupted={!run.live && !run.summary}
          failedBatches={p.failed}
          specPath={run.spec?.spec_path ?? null}
          allowReuse={run.spec?.allow_reuse !== false}
        />
      </div>
      <div
        className="progress"
        role="progressbar"
        aria-valuenow={Math.round(pct)}
        aria-valuemin={0}
        aria-valuemax={100}
      >
        <div className="bar ok" style={{ width: `${total > 0 ? (100 * p.succeeded) / total : 0}%` }} />
        <div className="bar bad" style={{ width: `${total > 0 ? (100 * p.failed) / total : 0}%` }} />
      </div>
      <dl className="stats">
        <div>
          <dt>Mini-batches</dt>
          <dd data-testid="batches-done">
            {done} / {p.total ?? `${p.planned}+`}
          </dd>
        </div>
        <div>
          <dt>Items</dt>
          <dd>
            {p.itemsSucceeded} ok · {p.itemsFailed} failed
          </dd>
        </div>
        <div>
          <dt>Elapsed</dt>
          <dd data-testid="elapsed" data-elapsed-s={elapsed.toFixed(3)}>
            {formatDuration(elapsed)}
          </dd>
        </div>
        <div>
          <dt>ETA</dt>
          <dd>{run.live ? (p.etaS !== null ? formatDuration(p.etaS) : '—') : 'done'}</dd>
        </div>
        <div>
          <dt>Throughput</dt>
          <dd>{reused ? '— (reused)' : `${throughput.toFixed(throughput < 10 ? 2 : 0)} items/s`}</dd>
        </div>
        <div>
          <dt>Failures</dt>
          <dd className={p.failed + p.failedAttempts > 0 ? 'bad-text' : ''}>
            {p.failed} mini-batches · {p.failedAttempts} attempts
          </dd>
        </div>
      </dl>
    </section>
  );
}

/** A reused run ran nothing: say whose results it took, and offer that run and a real run. */
function Reused({ from }: { from: string }) {
  const run = useStore((s) => s.run);
  return (
    <section className="reused" data-testid="reused" aria-label="Reused results">
      <p>
        <strong>Nothing ran: these are the results of an earlier run,</strong> reused because the entry
        script, settings and inputs are unchanged since (<code>allow_reuse</code>).
      </p>
      <p className="muted" data-testid="reused-from">
        {from}
      </p>
      <button onClick={() => useStore.getState().navigate({ kind: 'run', runDir: from })}>
        Open that run
      </button>{' '}
      {run && (
        <button
          onClick={() =>
            void useStore
              .getState()
              .runAction('run-again', run.runDir)
              .catch((err: unknown) => useStore.getState().setError(String(err)))
          }
        >
          Run it for real instead
        </button>
      )}
    </section>
  );
}

function RunNodes({ filter, onFilter }: { filter: string | null; onFilter: (id: string | null) => void }) {
  const { nodes, workers, live } = useStore(
    useShallow((s) => ({ nodes: s.run?.nodes ?? [], workers: s.run?.workers ?? [], live: !!s.run?.live })),
  );
  const now = useNow(live);
  if (!showsNodes(nodes)) return null;
  return <NodesPanel nodes={nodes} workers={workers} now={now} filter={filter} onFilter={onFilter} />;
}

function WorkerTiles({ onShell, nodeFilter }: { onShell: (p: string) => void; nodeFilter: string | null }) {
  const all = useStore((s) => s.run?.workers ?? []);
  const workers = nodeFilter === null ? all : all.filter((w) => w.nodeId === nodeFilter);
  const metrics = useStore((s) => s.metrics);
  useStore((s) => s.metricsVersion);
  const last = new Map<string, { cpu: number; rss: number }>();
  for (let i = metrics.processes.length - 1; i >= 0 && last.size < workers.length; i--) {
    const p = metrics.processes[i];
    if (!last.has(p.process)) last.set(p.process, { cpu: p.cpuPercent, rss: p.rssBytes });
  }
  return (
    <section className="tiles" aria-label="Workers">
      {workers.map((w) => {
        const m = last.get(w.name);
        return (
          <div key={w.name} className={`tile ${w.state}`} data-testid={`worker-${w.name}`}>
            <div className="tile-head">
              <strong>{w.name}</strong>
              <span className="muted">node {w.nodeId}</span>
            </div>
            <div data-testid="worker-state">{workerStateText(w)}</div>
            <div className="muted">
              {typeof w.gpu === 'number' && `GPU ${w.gpu} · `}CPU {m ? `${Math.round(m.cpu)}%` : '—'} ·{' '}
              {m ? formatBytes(m.rss) : '—'}
            </div>
            <div>{w.batchesDone} mini-batches done</div>
            {/* Live, finished or failed: the worker's environment is the spec's, it needs no process. */}
            <button className="small" onClick={() => onShell(w.name)}>
              Shell here
            </button>
          </div>
        );
      })}
    </section>
  );
}

function TerminalBox({ runId, name }: { runId: string; name: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => (ref.current ? attachTerminal(runId, name, ref.current) : undefined), [runId, name]);
  return <div ref={ref} className="terminal" data-testid={`terminal-${name}`} />;
}

function logPathOf(name: string, nodeId: string): string {
  return name === LEADER_TERMINAL
    ? 'logs/sys/master_role.txt'
    : `logs/user/stdout/${nodeId}/${name}.stdout.txt`;
}

function Terminals({
  runId,
  onLog,
  nodeFilter,
}: {
  runId: string;
  onLog: (l: LogRef) => void;
  nodeFilter: string | null;
}) {
  const { names, dropped, workers, nodes } = useStore(
    useShallow((s) => ({
      names: s.terminalNames,
      dropped: s.droppedBytes,
      workers: s.run?.workers ?? [],
      nodes: s.run?.nodes ?? [],
    })),
  );
  const [layout, setLayout] = useState<'grid' | 'tabs'>('grid');
  const [tab, setTab] = useState<string>(LEADER_TERMINAL);
  const nodeOf = (n: string) => workers.find((w) => w.name === n)?.nodeId;
  const inFilter = (n: string) => nodeFilter === null || n === LEADER_TERMINAL || nodeOf(n) === nodeFilter;
  const shown = (layout === 'grid' ? names : names.filter((n) => n === tab)).filter(inFilter);
  // With several nodes, each node's terminals sit under its name; the leader's stay on top.
  const groups: Array<{ node: RunNode | null; names: string[] }> = showsNodes(nodes)
    ? [
        { node: null, names: shown.filter((n) => !nodes.some((x) => x.id === nodeOf(n))) },
        ...nodes.map((node) => ({ node, names: shown.filter((n) => nodeOf(n) === node.id) })),
      ].filter((g) => g.names.length > 0)
    : [{ node: null, names: shown }];
  return (
    <section className="terminals">
      <div className="section-head">
        <h3>Output</h3>
        <div className="seg">
          <button aria-pressed={layout === 'grid'} onClick={() => setLayout('grid')}>
            Grid
          </button>
          <button aria-pressed={layout === 'tabs'} onClick={() => setLayout('tabs')}>
            Tabs
          </button>
        </div>
        {layout === 'tabs' &&
          names.map((n) => (
            <button key={n} role="tab" aria-selected={tab === n} onClick={() => setTab(n)}>
              {n}
            </button>
          ))}
      </div>
      <TerminalGrid
        runId={runId}
        groups={groups}
        layout={layout}
        dropped={dropped}
        onLog={onLog}
        nodeOf={nodeOf}
      />
    </section>
  );
}

/**
 * One flat grid, each node's heading before its terminals: the terminals keep their parent when
 * a worker's node becomes known, so React moves them rather than mounting new ones.
 */
function TerminalGrid({
  runId,
  groups,
  layout,
  dropped,
  onLog,
  nodeOf,
}: {
  runId: string;
  groups: Array<{ node: RunNode | null; names: string[] }>;
  layout: 'grid' | 'tabs';
  dropped: Record<string, number>;
  onLog: (l: LogRef) => void;
  nodeOf: (name: string) => string | undefined;
}) {
  return (
    <div className={layout === 'grid' ? 'term-grid' : 'term-single'}>
      {groups.flatMap((g) => [
        ...(g.node
          ? [
              <h4
                key={`node-${g.node.id}`}
                className="node-terminals-head"
                data-testid={`node-terminals-${g.node.id}`}
              >
                node {g.node.id} · {g.node.name} · {g.node.host}
              </h4>,
            ]
          : []),
        ...g.names.map((n) => {
          const nodeId = nodeOf(n) ?? '0';
          return (
            <div key={n} className="term-panel" data-node={g.node?.id}>
              <div className="term-title">
                <span>{n === LEADER_TERMINAL ? 'leader (master_role.txt)' : n}</span>
                {dropped[n] !== undefined && (
                  <span className="dropped" data-testid={`dropped-${n}`}>
                    {formatBytes(dropped[n])} not shown,{' '}
                    <a
                      href="#"
                      onClick={(e) => {
                        e.preventDefault();
                        onLog({ path: logPathOf(n, nodeId) });
                      }}
                    >
                      open the full log
                    </a>
                  </span>
                )}
                <button className="small" onClick={() => onLog({ path: logPathOf(n, nodeId) })}>
                  Log file
                </button>
              </div>
              <TerminalBox runId={runId} name={n} />
            </div>
          );
        }),
      ])}
    </div>
  );
}

function Diagnosis({
  findings,
  reason,
  onLog,
  onBatch,
}: {
  findings: Finding[];
  reason?: string;
  onLog: (l: LogRef) => void;
  onBatch: (id: number) => void;
}) {
  if (findings.length === 0 && !reason) return null;
  return (
    <section className="diagnosis" data-testid="diagnosis" aria-label="Diagnosis">
      <h3>Diagnosis</h3>
      {reason && <p className="reason">{reason}</p>}
      {findings.map((f, i) => (
        <article key={i} className={`finding ${f.kind}`} data-testid="finding">
          <h4>
            {f.title}
            {f.count !== undefined && f.count > 1 && <span className="muted"> ×{f.count}</span>}
          </h4>
          <p>{f.detail}</p>
          <p className="remedy">
            <strong>What to do:</strong> {f.remedy}
          </p>
          <div className="links">
            {f.miniBatchId !== undefined && (
              <button className="small" onClick={() => onBatch(f.miniBatchId as number)}>
                Mini-batch {f.miniBatchId}
              </button>
            )}
            {f.process && <span className="muted">{f.process}</span>}
            {f.logFile && (
              <button className="small" onClick={() => onLog({ path: f.logFile as string })}>
                {f.logFile}
              </button>
            )}
          </div>
          {f.traceback && (
            <details open={i === 0}>
              <summary>Traceback</summary>
              <pre className="traceback">{f.traceback}</pre>
            </details>
          )}
        </article>
      ))}
    </section>
  );
}
