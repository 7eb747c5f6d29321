// Reading a run folder back (contracts.md §3): run.json, the attempts CSV, the perf samples and the
// tails of the log tree, so a finished run reopens in the same view as a live one.

import { createReadStream, existsSync, watch } from 'node:fs';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { AttemptRow, LogChunk, RunListItem, RunSnapshot } from '../common/api';
import { LEADER_TERMINAL } from '../common/api';
import { parseCsv } from '../common/csv';
import type { NodeSample, ProcessSample, RunNode, WorkerInfo } from '../common/events';
import { openRunFolder, readRunJson, resolveInside, type RunJson } from './runFolderPaths';
import { runLifetime } from './runLifetime';
import { emptyProgress, pushMetrics, stderrColoured, TERMINAL_RING_CHARS } from './runState';

/** Run ids sort by start time; the folder's birth time is the fallback. */
async function startedAtOf(runDir: string, json: RunJson | null): Promise<number> {
  if (json?.startedAt !== undefined) {
    const t = new Date(json.startedAt).getTime();
    if (!Number.isNaN(t)) return t;
  }
  const st = await stat(runDir);
  return st.birthtimeMs || st.mtimeMs;
}

export async function runListItem(runDir: string): Promise<RunListItem | null> {
  const json = await readRunJson(runDir);
  if (!json) return null;
  const s = json.summary;
  return {
    runId: path.basename(runDir),
    runDir,
    name: json.spec?.name ?? path.basename(path.dirname(runDir)),
    status: s?.status ?? 'failed',
    live: false,
    startedAt: await startedAtOf(runDir, json),
    durationS: s?.duration_s ?? null,
    miniBatches: s?.mini_batches ?? null,
  };
}

/** Every run folder under a runs dir: <runs>/<name>/<run-id>/run.json. */
export async function scanRunsDir(runsDir: string): Promise<string[]> {
  const found: string[] = [];
  let names: string[];
  try {
    names = await readdir(runsDir);
  } catch {
    return found;
  }
  for (const name of names) {
    let ids: string[];
    try {
      ids = await readdir(path.join(runsDir, name));
    } catch {
      continue;
    }
    for (const id of ids) {
      const dir = path.join(runsDir, name, id);
      if (existsSync(path.join(dir, 'run.json'))) found.push(dir);
    }
  }
  return found;
}

export { parseCsv };

const STATUSES = new Set(['running', 'succeeded', 'failed', 'timeout', 'crashed']);

export function attemptsFromCsv(text: string): AttemptRow[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  const col = (name: string) => header.indexOf(name);
  const num = (r: string[], name: string): number | undefined => {
    const i = col(name);
    if (i < 0 || r[i] === undefined || r[i] === '') return undefined;
    const v = Number(r[i]);
    return Number.isFinite(v) ? v : undefined;
  };
  const str = (r: string[], name: string): string | undefined => {
    const i = col(name);
    return i < 0 || r[i] === undefined || r[i] === '' ? undefined : r[i];
  };
  return rows
    .filter((r) => r.length > 1)
    .map((r) => {
      const status = str(r, 'status') ?? 'failed';
      const start = str(r, 'start_time');
      const startedAt = start ? new Date(start).getTime() : NaN;
      return {
        miniBatchId: num(r, 'mini_batch_id') ?? -1,
        attempt: num(r, 'attempt') ?? 1,
        process: str(r, 'process_name') ?? '?',
        nodeId: str(r, 'node_id') ?? '0',
        status: (STATUSES.has(status) ? status : 'failed') as AttemptRow['status'],
        error: str(r, 'error'),
        startedAt: Number.isNaN(startedAt) ? undefined : startedAt,
        elapsedS: num(r, 'elapsed_s'),
        processTimeS: num(r, 'process_time_s'),
        runTimeS: num(r, 'run_time_s'),
        itemsTotal: num(r, 'items_total'),
        itemsSucceeded: num(r, 'items_succeeded'),
        itemsFailed: num(r, 'items_failed'),
      };
    });
}

/** The end of a log file of the run folder (null when there is none, or it leads outside). */
async function tail(runDir: string, rel: string, chars = TERMINAL_RING_CHARS): Promise<string | null> {
  try {
    const file = await resolveInside(runDir, rel);
    const st = await stat(file);
    const start = Math.max(0, st.size - chars);
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(st.size - start);
      await fh.read(buf, 0, buf.length, start);
      return buf.toString('utf8').replace(/\r?\n/g, '\r\n');
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}

async function readSamples(runDir: string): Promise<RunSnapshot['metrics']> {
  const metrics: RunSnapshot['metrics'] = { node: [], processes: [] };
  const perf = path.join(runDir, 'logs', 'perf');
  let nodes: string[] = [];
  try {
    nodes = await readdir(perf);
  } catch {
    return metrics;
  }
  // Every node's samples in time order, as they arrived live (a folder each, read one after another).
  const all: Array<{ nodeId: string; node: NodeSample; processes: ProcessSample[] }> = [];
  for (const node of nodes) {
    const file = await resolveInside(runDir, path.join('logs', 'perf', node, 'samples.jsonl')).catch(
      () => null,
    );
    if (!file) continue;
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line.trim()) continue;
      try {
        const s = JSON.parse(line) as { node: NodeSample; processes: ProcessSample[] };
        all.push({ nodeId: node, node: s.node, processes: s.processes ?? [] });
      } catch {
        // A torn last line from an interrupted run: skip it.
      }
    }
  }
  // The machine graph is node 0's, as live.
  metrics.machineNode = nodes.sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))[0];
  all.sort((a, b) => a.node.t - b.node.t);
  for (const s of all) pushMetrics(metrics, s.node, s.processes, s.nodeId);
  return metrics;
}

/** The whole run view of a finished (or interrupted) run, from its folder. */
export async function snapshotFromFolder(runDir: string): Promise<RunSnapshot> {
  // Reads go through the real folder; the snapshot names the folder as the client did.
  const { dir, json } = await openRunFolder(runDir);
  const summary = json.summary ?? null;
  let attempts: AttemptRow[] = [];
  try {
    const report = path.join('logs', 'sys', 'job_report', 'processed_mini-batches.csv');
    attempts = attemptsFromCsv(await readFile(await resolveInside(dir, report), 'utf8'));
  } catch {
    // No report yet: the run stopped before its first mini-batch.
  }
  const workers = new Map<string, WorkerInfo>();
  for (const a of attempts) {
    const w = workers.get(a.process) ?? {
      name: a.process,
      nodeId: a.nodeId,
      gpu: null,
      state: 'exited' as const,
      batchesDone: 0,
    };
    if (a.status === 'succeeded') w.batchesDone++;
    workers.set(a.process, w);
  }
  const terminals: Record<string, string> = {};
  const leader = await tail(dir, path.join('logs', 'sys', 'master_role.txt'));
  if (leader !== null) terminals[LEADER_TERMINAL] = leader;
  const stdoutRoot = path.join(dir, 'logs', 'user', 'stdout');
  for (const node of await readdir(stdoutRoot).catch(() => [] as string[])) {
    for (const f of await readdir(path.join(stdoutRoot, node)).catch(() => [] as string[])) {
      const proc = f.replace(/\.stdout\.txt$/, '');
      const out = await tail(dir, path.join('logs', 'user', 'stdout', node, f));
      const err = await tail(dir, path.join('logs', 'user', 'stderr', node, `${proc}.stderr.txt`), 8192);
      terminals[proc] = (out ?? '') + (err ? stderrColoured(err) : '');
      if (!workers.has(proc))
        workers.set(proc, { name: proc, nodeId: node, gpu: null, state: 'exited', batchesDone: 0 });
    }
  }
  const nodes = await nodesFromFolder(dir, json, [...workers.values()]);
  const progress = emptyProgress();
  if (summary) {
    progress.planned = summary.mini_batches.total;
    progress.total = summary.mini_batches.total;
    progress.succeeded = summary.mini_batches.succeeded;
    progress.failed = summary.mini_batches.failed;
    progress.itemsSucceeded = summary.items.succeeded;
    progress.itemsFailed = summary.items.failed;
    progress.etaS = 0;
  }
  progress.failedAttempts = attempts.filter((a) => a.status !== 'succeeded' && a.status !== 'running').length;
  // A resumed run's elapsed time is its whole life, every session of it, as its live view showed.
  const startedAt = await startedAtOf(runDir, json);
  const resumesAt = (json.resumes ?? []).map((r) => new Date(r.at ?? NaN).getTime());
  const life = runLifetime(startedAt, resumesAt, summary?.duration_s ?? null, attempts);
  progress.elapsedS = life.totalS;
  return {
    runId: path.basename(runDir),
    runDir,
    name: json.spec?.name ?? path.basename(path.dirname(runDir)),
    spec: json.spec ?? null,
    status: summary?.status ?? 'failed',
    live: false,
    progress,
    workers: [...workers.values()].sort((a, b) => a.name.localeCompare(b.name)),
    nodes,
    attempts,
    findings: summary?.findings ?? [],
    summary,
    startedAt,
    ...(life.sessionStarts.length > 1
      ? {
          resumed: {
            count: life.sessionStarts.length - 1,
            priorElapsedS: life.priorS,
            sessionStartedAt: life.sessionStarts[life.sessionStarts.length - 1]!,
          },
        }
      : {}),
    terminals,
    metrics: await readSamples(dir),
  };
}

/**
 * A finished run's nodes, from its node folders (logs/sys/node/<id>/): the host the leader ran on
 * and the workers each one had. What agent filled a cluster's node id is in master_role.txt only.
 */
async function nodesFromFolder(dir: string, json: RunJson, workers: WorkerInfo[]): Promise<RunNode[]> {
  const ids = await readdir(path.join(dir, 'logs', 'sys', 'node')).catch(() => [] as string[]);
  const env = (json.environment ?? {}) as { host?: unknown };
  const host = typeof env.host === 'string' ? env.host : '';
  const endedAt = await stat(path.join(dir, 'run.json')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  return ids
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((id) => ({
      id,
      name: `node ${id}`,
      host,
      processes: workers.filter((w) => w.nodeId === id).length,
      gpus: [],
      state: 'left' as const,
      beatAt: endedAt,
    }));
}

const MAX_LOG_CHUNK = 4 * 1024 * 1024;

/** The longest a follow-while-running read waits for a log to grow. */
export const MAX_LOG_WAIT_MS = 30_000;

/**
 * Resolves once `file` is longer than `size`, or after `ms`: a follow-while-running read waits on
 * the file's change events (not a timer loop), with a slow re-check for writes a watch misses.
 */
async function grown(file: string, size: number, ms: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const check = () =>
      void stat(file)
        .then((st) => st.size > size && done())
        .catch(done);
    const watcher = (() => {
      try {
        return watch(file, { persistent: false }, check);
      } catch {
        return null;
      }
    })();
    const recheck = setInterval(check, 1000);
    const timeout = setTimeout(done, ms);
    function done() {
      watcher?.close();
      clearInterval(recheck);
      clearTimeout(timeout);
      resolve();
    }
    check();
  });
}

/**
 * A byte range of a file of a run folder (the folder must be one: run.json with a spec). With
 * `waitMs`, a read from the end waits up to that long for more (following a running job's log).
 */
export async function readLogRange(
  runDir: string,
  rel: string,
  start = 0,
  end?: number,
  waitMs = 0,
): Promise<LogChunk> {
  const file = await resolveInside((await openRunFolder(runDir)).dir, rel);
  let st = await stat(file);
  if (waitMs > 0 && start >= st.size) {
    await grown(file, st.size, Math.min(waitMs, MAX_LOG_WAIT_MS));
    st = await stat(file);
  }
  const s = Math.max(0, Math.min(start, st.size));
  const e = Math.min(st.size, end ?? st.size, s + MAX_LOG_CHUNK);
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(e - s);
    await fh.read(buf, 0, buf.length, s);
    return { path: rel, start: s, end: e, size: st.size, data: buf.toString('utf8') };
  } finally {
    await fh.close();
  }
}
