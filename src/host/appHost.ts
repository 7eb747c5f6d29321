// The host side of the API contract, transport-agnostic: the WebSocket server and Electron's IPC
// both connect clients here. It runs jobs through the engine, keeps a compact state per active run
// (for late subscribers), and forwards events with terminal flow control per client.

import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DeviceInfo, ExampleInfo, HistoryItem, RunListItem, RunSnapshot } from '../common/api';
import { LEADER_TERMINAL } from '../common/api';
import type { ApiHandlers, ApiMethod, ApiParams, ApiResult, AppEvent } from '../common/contract';
import { BadRequest, describeIssues, dispatch, TERMINAL_ACK } from '../common/contract';
import type { RunEvent } from '../common/events';
import type { JobSpec } from '../common/spec';
import type { WorkerLauncher } from '../engine/launcher';
import { parseQueryCsv, runNvidiaSmi } from '../engine/devices/nvidiaSmi';
import { History } from '../engine/history';
import { loadPipelineFile } from '../engine/pipeline/load';
import {
  isPipelineRunDir,
  PIPELINE_RECORD,
  resumePipeline,
  startPipeline,
  type PipelineHandle,
  readPipelineRecord,
} from '../engine/pipeline/run';
import { readPipelineSnapshot } from './pipelineRuns';
import { resumeRun, startRun, type RunHandle } from '../engine/run';
import { clusterStatus, joinClusterForRun } from './clusterRuns';
import { loadDeployment, looksLikeBatchDeployment } from '../engine/spec/deployment';
import { loadSpec, readSpecDocument } from '../engine/spec/load';
import { DownloadTickets } from './downloadTickets';
import { listLogTree, miniBatchLogs } from './logsBrowser';
import { outputFileOf, writeExportFile } from './exports';
import { readPage, stopBackgroundIndexing } from './outputIndex';
import { checkQuery, searchOffThread } from './outputSearch';
import { readLogRange, runListItem, scanRunsDir, snapshotFromFolder } from './runFolder';
import { isRunRecord, readRunJson } from './runFolderPaths';
import { leaderLine, RunState, sendableSnapshot, stderrColoured } from './runState';
import { ShellSessions } from './shell';
import { TermFlow } from './termFlow';
import {
  absScript,
  checkInterpreter,
  exportAzureMlV2,
  findInterpreters,
  inspectInputs,
  inspectScript,
  listDir,
  readSpecFile,
  saveSpec,
  yamlToSave,
  validateDraft,
} from './wizard';

export interface AppHostOptions {
  /** Folder whose subfolders holding a job.yaml/job.json, a pipeline.yml or an example.json are the examples. */
  examplesDir: string;
  /** Where runs go; default: runs/ beside each spec (the engine's default). */
  runsDir?: string;
  launcher?: WorkerLauncher;
  /** How long a search may spend on one chunk of a file (default: outputSearch.ts's). */
  searchBudgetMs?: number;
}

type RunEventNoOutput = Exclude<RunEvent, { type: 'output' }>;

interface ActiveRun {
  handle: RunHandle;
  state: RunState;
  clients: Set<HostConnection>;
  /** A pipeline's parallel node: opened from the pipeline view, not listed as a run of its own. */
  pipelineNode?: boolean;
}

const RUN_EVENT_BATCH_MS = 50;

/**
 * An example card's text: about.md beside the spec (its first paragraph, written for the app), else
 * the spec's leading comments without the lines that are shell commands (they are for the CLI).
 */
async function exampleDescription(dir: string, spec: string): Promise<string> {
  const oneLine = (lines: string[]) => lines.join(' ').replace(/\s+/g, ' ').trim();
  const about = await readFile(path.join(dir, 'about.md'), 'utf8').catch(() => null);
  if (about !== null)
    return oneLine(
      about
        .trim()
        .split(/\n\s*\n/)[0]!
        .split('\n'),
    );
  const text = await readFile(spec, 'utf8');
  const comments: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    comments.push(line.replace(/^#\s?/, ''));
  }
  const command = /(^|\s|`)(npx |npm |prs |python3? |\/usr\/bin\/python)/;
  return oneLine(comments.filter((l) => !command.test(l)));
}

/**
 * A batch deployment example: example.json names the deployment file and the data its card scores
 * (`{"spec": "deployment.yml", "input": "data"}`, relative to the example's folder). A job or
 * pipeline example needs no such file.
 */
async function deploymentExample(dir: string): Promise<{ specPath: string; input: string } | null> {
  const text = await readFile(path.join(dir, 'example.json'), 'utf8').catch(() => null);
  if (text === null) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  const { spec, input } = (doc ?? {}) as { spec?: unknown; input?: unknown };
  if (typeof spec !== 'string' || typeof input !== 'string') return null;
  return { specPath: path.join(dir, spec), input: path.join(dir, input) };
}

async function isDeploymentFile(specPath: string): Promise<boolean> {
  const read = await readSpecDocument(specPath);
  return read.ok && looksLikeBatchDeployment(read.value);
}

export class AppHost {
  private readonly runs = new Map<string, ActiveRun>();
  private readonly knownRunsDirs = new Set<string>();
  private readonly pipelines = new Set<PipelineHandle>();
  private readonly connections = new Set<HostConnection>();
  readonly shells = new ShellSessions();
  readonly downloads = new DownloadTickets();

  constructor(readonly options: AppHostOptions) {
    if (options.runsDir) this.knownRunsDirs.add(path.resolve(options.runsDir));
  }

  connect(send: (event: AppEvent) => void): HostConnection {
    const conn = new HostConnection(this, send);
    this.connections.add(conn);
    return conn;
  }

  disconnect(conn: HostConnection): void {
    this.connections.delete(conn);
    for (const run of this.runs.values()) run.clients.delete(conn);
  }

  broadcast(event: AppEvent): void {
    for (const c of this.connections) c.send(event);
  }

  activeRun(runId: string): ActiveRun | undefined {
    return this.runs.get(runId);
  }

  /** The active run writing into `runDir`: a page that knows only the folder (the output browser's, a pipeline's node) still follows it live. */
  activeRunAt(runDir: string): ActiveRun | undefined {
    const dir = path.resolve(runDir);
    for (const run of this.runs.values()) if (path.resolve(run.handle.runDir) === dir) return run;
    return undefined;
  }

  async listExamples(): Promise<ExampleInfo[]> {
    const dir = this.options.examplesDir;
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: ExampleInfo[] = [];
    for (const name of names.sort()) {
      const declared = await deploymentExample(path.join(dir, name));
      const spec =
        declared?.specPath ??
        ['job.yaml', 'job.yml', 'job.json', 'pipeline.yml', 'pipeline.yaml']
          .map((f) => path.join(dir, name, f))
          .find((f) => existsSync(f));
      if (!spec) continue;
      out.push({
        name,
        specPath: spec,
        description: await exampleDescription(path.join(dir, name), spec),
        ...(declared && { input: declared.input }),
      });
      this.knownRunsDirs.add(path.join(dir, name, 'runs'));
    }
    return out;
  }

  /**
   * `reuse: false` runs the job even when allow_reuse would take an earlier run's results. `input`
   * makes the file a batch deployment scoring that file or folder, as `prs run --input` does.
   */
  async start(
    specPath: string,
    reuse?: boolean,
    input?: string,
    cluster?: string,
  ): Promise<{ runId: string; runDir: string; pipeline?: boolean }> {
    if (input !== undefined) {
      if (cluster !== undefined) throw new Error('cluster: a batch deployment runs on this machine');
      return this.startDeployment(specPath, input);
    }
    const pipeline = await loadPipelineFile(path.resolve(specPath));
    if (pipeline) {
      if (cluster !== undefined)
        throw new Error('cluster runs one job, not a pipeline: run its parallel steps as jobs');
      return this.startPipeline(specPath, pipeline);
    }
    const loaded = await loadSpec(path.resolve(specPath));
    if (!loaded.ok) throw new Error(`${specPath}: the job spec has problems:\n${loaded.problems.join('\n')}`);
    const joined = cluster === undefined ? undefined : await joinClusterForRun(cluster, loaded.spec);
    let handle: RunHandle;
    try {
      handle = await startRun(loaded.spec, {
        runsDir: this.options.runsDir,
        launcher: this.options.launcher,
        reuse,
        nodes: joined?.nodes,
      });
    } catch (err) {
      await joined?.close();
      throw err;
    }
    if (joined) {
      joined.setRunDir(handle.runDir);
      void handle.done.finally(() => joined.close());
    }
    return this.track(handle, loaded.spec);
  }

  private async startDeployment(specPath: string, input: string): Promise<{ runId: string; runDir: string }> {
    const abs = path.resolve(input);
    // Refused here, before the deployment is read: an example whose data was never made says so.
    if (!existsSync(abs))
      throw new Error(`input: ${abs} does not exist (expected the file or folder ${specPath} scores)`);
    const read = await readSpecDocument(specPath);
    if (!read.ok) throw new Error(read.problems.join('\n'));
    if (!looksLikeBatchDeployment(read.value))
      throw new Error(
        `${specPath}: input goes with a batch deployment (expected a file with type: model, or no input)`,
      );
    const loaded = await loadDeployment(path.resolve(specPath), { input: abs });
    if (!loaded.ok)
      throw new Error(`${specPath}: the batch deployment has problems:\n${loaded.problems.join('\n')}`);
    const handle = await startRun(loaded.spec, {
      runsDir: this.options.runsDir,
      launcher: this.options.launcher,
    });
    return this.track(handle, loaded.spec);
  }

  /** A v2 pipeline: its nodes' progress reaches the views as runs-changed (they read pipeline.json again). */
  private async startPipeline(
    specPath: string,
    loaded: NonNullable<Awaited<ReturnType<typeof loadPipelineFile>>>,
  ): Promise<{ runId: string; runDir: string; pipeline: true }> {
    if (!loaded.ok) throw new Error(`${specPath}: the pipeline has problems:\n${loaded.problems.join('\n')}`);
    return this.followPipeline(await startPipeline(loaded.pipeline, { runsDir: this.options.runsDir }));
  }

  private followPipeline(handle: PipelineHandle): { runId: string; runDir: string; pipeline: true } {
    this.knownRunsDirs.add(path.dirname(path.dirname(handle.runDir)));
    this.pipelines.add(handle);
    void handle.done.finally(() => this.pipelines.delete(handle));
    handle.subscribe((e) => {
      // A parallel node is followed as any run, so its run view is live.
      if (e.type === 'node-run') this.track(e.handle, e.spec, null, true);
      if (e.type !== 'notice') this.broadcast({ type: 'runs-changed' });
    });
    this.broadcast({ type: 'runs-changed' });
    return { runId: handle.runId, runDir: handle.runDir, pipeline: true };
  }

  /** `prs resume [--retry-failed]`, the same engine call; the run view keeps the earlier sessions. */
  async resume(
    runDir: string,
    retryFailed: boolean,
  ): Promise<{ runId: string; runDir: string; pipeline?: boolean }> {
    const abs = path.resolve(runDir);
    if (isPipelineRunDir(abs)) return this.followPipeline(await resumePipeline(abs));
    // Read before resuming: the engine rewrites run.json (and the attempts CSV) as it starts.
    const earlier = await snapshotFromFolder(abs).catch(() => null);
    const handle = await resumeRun(abs, { retryFailed, launcher: this.options.launcher });
    const json = await readRunJson(handle.runDir);
    return this.track(
      handle,
      json?.spec ?? null,
      earlier && { earlier, resumes: json?.resumes?.length ?? 1 },
    );
  }

  private track(
    handle: RunHandle,
    spec: JobSpec | null,
    resumed?: { earlier: RunSnapshot; resumes: number } | null,
    pipelineNode = false,
  ): { runId: string; runDir: string } {
    const state = new RunState(
      handle.runId,
      handle.runDir,
      spec?.name ?? path.basename(path.dirname(handle.runDir)),
      spec,
    );
    if (resumed) state.seedFromEarlier(resumed.earlier, resumed.resumes);
    const run: ActiveRun = { handle, state, clients: new Set(), ...(pipelineNode ? { pipelineNode } : {}) };
    this.runs.set(handle.runId, run);
    if (!pipelineNode) this.knownRunsDirs.add(path.dirname(path.dirname(handle.runDir)));
    handle.subscribe((event) => this.onRunEvent(run, event));
    handle.done
      .catch((err: unknown) => {
        // The engine failed outright (not a failed job): show it as a failed run with the cause.
        run.state.failOutright({
          kind: 'system',
          title: 'The run stopped unexpectedly',
          detail: String(err),
          remedy: 'See logs/sys/error/.',
        });
      })
      .finally(() => {
        // Keep the state a while for tabs still showing it; the folder has everything afterwards.
        // A resume of the run (same id) may have taken its place meanwhile: leave that one be.
        setTimeout(() => {
          if (this.runs.get(handle.runId) === run) this.runs.delete(handle.runId);
        }, 60_000).unref();
        this.broadcast({ type: 'runs-changed' });
      });
    this.broadcast({ type: 'runs-changed' });
    return { runId: handle.runId, runDir: handle.runDir };
  }

  private onRunEvent(run: ActiveRun, raw: RunEvent): void {
    const event = run.state.apply(raw);
    const runId = run.handle.runId;
    for (const client of run.clients) {
      if (event.type === 'output') {
        client.terminal(
          runId,
          event.process,
          event.stream === 'stderr' ? stderrColoured(event.data) : event.data,
        );
      } else if (event.type === 'log') {
        client.terminal(runId, LEADER_TERMINAL, leaderLine(event.level, event.message));
      } else {
        client.runEvent(runId, event);
      }
    }
  }

  async listRuns(includeLive: boolean): Promise<RunListItem[]> {
    if (this.knownRunsDirs.size === 0) await this.listExamples();
    const items = new Map<string, RunListItem>();
    for (const dir of this.knownRunsDirs) {
      for (const runDir of await scanRunsDir(dir)) {
        const item = await runListItem(runDir);
        if (item) items.set(runDir, item);
      }
    }
    for (const run of this.runs.values()) {
      const s = run.state.snapshot;
      if (run.pipelineNode) continue; // listed through its pipeline
      if (!s.live && items.has(s.runDir)) continue;
      if (!includeLive && s.live) continue;
      items.set(s.runDir, {
        runId: s.runId,
        runDir: s.runDir,
        name: s.name,
        status: s.status,
        live: s.live,
        startedAt: s.startedAt,
        durationS: s.summary?.duration_s ?? null,
        miniBatches: s.summary?.mini_batches ?? null,
      });
    }
    if (!includeLive) for (const [k, v] of items) if (v.live) items.delete(k);
    return [...items.values()].sort((a, b) => b.startedAt - a.startedAt);
  }

  /**
   * Runs a past run's job again: its spec file when it is still there, else the spec in run.json.
   * It runs unless `reuse` asks for allow_reuse's answer: reusing is the user's visible choice.
   */
  async rerun(runDir: string, reuse = false): Promise<{ runId: string; runDir: string; pipeline?: boolean }> {
    if (isPipelineRunDir(path.resolve(runDir))) {
      // A pipeline runs again from its file, as written now.
      return this.start((await readPipelineRecord(runDir)).pipeline.specPath);
    }
    const json = await readRunJson(path.resolve(runDir));
    if (!json?.spec) throw new Error(`${runDir}: no readable run.json with a spec (expected a run folder)`);
    if (json.spec.spec_path && existsSync(json.spec.spec_path)) {
      // A batch deployment scores the data it scored before: its file does not name it.
      const input = (await isDeploymentFile(json.spec.spec_path)) ? json.spec.inputs[0]?.path : undefined;
      return this.start(json.spec.spec_path, reuse, input);
    }
    const handle = await startRun(json.spec, {
      runsDir: this.options.runsDir,
      launcher: this.options.launcher,
      reuse,
    });
    return this.track(handle, json.spec);
  }

  /**
   * Deletes a finished run's folder (the UI asks first). A live run is refused, and so is any folder
   * whose run.json is not a run record: a mistyped path must never remove someone's files.
   */
  async deleteRun(runDir: string): Promise<{ deleted: boolean }> {
    const abs = path.resolve(runDir);
    if (!existsSync(abs)) return { deleted: false };
    const real = await realpath(abs);
    const finished: string[] = [];
    for (const [runId, run] of this.runs) {
      const s = run.state.snapshot;
      if (s.runDir !== abs && s.runDir !== real) continue;
      if (s.live) throw new Error(`${abs}: the run is still running (cancel it first)`);
      finished.push(runId);
    }
    if (!isRunRecord(await readRunJson(real)))
      throw new Error(
        `${abs}: not a run folder (expected a run.json with the runId, startedAt and spec the engine writes), not deleted`,
      );
    await rm(real, { recursive: true, force: true });
    for (const runId of finished) this.runs.delete(runId);
    // This host's record of the finished run goes, and the index forgets it too: otherwise History
    // keeps a "missing" row for a folder the user deleted.
    try {
      const h = History.open();
      try {
        for (const dir of new Set([abs, real])) h.forget(dir);
      } finally {
        h.close();
      }
    } catch {
      // An unreadable index shows the row as missing: the folder is gone all the same.
    }
    this.broadcast({ type: 'runs-changed' });
    return { deleted: true };
  }

  /** The history index (every run this user started anywhere) joined with this host's runs. */
  async history(): Promise<HistoryItem[]> {
    const items = new Map<string, HistoryItem>();
    let entries: ReturnType<History['list']> = [];
    try {
      const h = History.open();
      try {
        entries = h.list();
      } finally {
        h.close();
      }
    } catch {
      // An unreadable index must not hide the runs this host can see.
    }
    for (const e of entries) {
      items.set(path.resolve(e.runDir), {
        runId: e.runId,
        runDir: e.runDir,
        name: e.name,
        status: e.status === 'interrupted' ? 'failed' : e.status === 'running' ? 'running' : e.status,
        live: false,
        startedAt: new Date(e.startedAt).getTime(),
        durationS: e.durationS,
        miniBatches: e.miniBatches,
        specPath: e.specPath,
        items: e.items,
        folder: e.folder,
        resumes: e.resumes,
        interrupted: e.status === 'interrupted',
        ...(existsSync(path.join(e.runDir, PIPELINE_RECORD)) ? { pipeline: true } : {}),
      });
    }
    for (const r of await this.listRuns(true)) {
      const known = items.get(path.resolve(r.runDir));
      items.set(path.resolve(r.runDir), {
        ...r,
        specPath: known?.specPath ?? null,
        items: known?.items ?? null,
        folder: existsSync(path.join(r.runDir, 'run.json')) || r.live ? 'present' : 'missing',
        resumes: known?.resumes ?? 0,
        interrupted: false,
      });
    }
    return [...items.values()].sort((a, b) => b.startedAt - a.startedAt);
  }

  async devices(): Promise<DeviceInfo> {
    const cpus = os.cpus();
    const gpus: DeviceInfo['gpus'] = [];
    const fields = ['index', 'name', 'memory.total'];
    const smi = await runNvidiaSmi([`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits']);
    if (smi.ok) {
      for (const row of parseQueryCsv(smi.stdout, fields)) {
        gpus.push({
          index: Number(row['index'] ?? gpus.length),
          name: row['name'] ?? 'GPU',
          memTotalBytes: Number(row['memory.total'] ?? 0) * 1024 * 1024,
        });
      }
    }
    return { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', memTotalBytes: os.totalmem(), gpus };
  }

  async close(): Promise<void> {
    this.shells.closeAll();
    stopBackgroundIndexing();
    for (const run of this.runs.values()) if (run.state.snapshot.live) run.handle.cancel();
    // A pipeline's command nodes run in process groups of their own: stopped here, not orphaned.
    for (const p of this.pipelines) p.cancel();
    await Promise.allSettled([
      ...[...this.runs.values()].map((r) => r.handle.done),
      ...[...this.pipelines].map((p) => p.done),
    ]);
  }
}

/** One client (a browser tab over WebSocket, or the Electron window). */
export class HostConnection {
  private readonly flows = new Map<string, TermFlow>();
  private batch: Array<{ runId: string; event: RunEventNoOutput }> = [];
  private batchTimer: NodeJS.Timeout | null = null;
  private readonly shellIds = new Set<string>();
  private readonly searches = new Map<string, AbortController>();
  readonly handlers: ApiHandlers;

  constructor(
    private readonly host: AppHost,
    private readonly sendEvent: (event: AppEvent) => void,
  ) {
    this.handlers = this.makeHandlers();
  }

  send(event: AppEvent): void {
    this.sendEvent(event);
  }

  /** Every transport's way in: the contract's dispatcher checks the method and its params first. */
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>>;
  call(method: unknown, params: unknown): Promise<unknown>;
  call(method: unknown, params: unknown): Promise<unknown> {
    return dispatch(this.handlers, method, params);
  }

  /** Flow control from the client; a malformed one is refused like a bad request. */
  ack(ack: unknown): void {
    const r = TERMINAL_ACK.safeParse(ack);
    if (!r.success) throw new BadRequest(describeIssues('ack', r.error));
    this.flows.get(`${r.data.runId}\n${r.data.term}`)?.ack(r.data.chars);
  }

  terminal(runId: string, term: string, data: string): void {
    const key = `${runId}\n${term}`;
    let flow = this.flows.get(key);
    if (!flow) {
      flow = new TermFlow({
        data: (d) => this.sendEvent({ type: 'term-output', runId, term, data: d }),
        dropped: (droppedBytes) => this.sendEvent({ type: 'term-dropped', runId, term, droppedBytes }),
      });
      this.flows.set(key, flow);
    }
    flow.push(data);
  }

  runEvent(runId: string, event: RunEventNoOutput): void {
    this.batch.push({ runId, event });
    // Finishing must not wait behind a timer: tests and users watch for it.
    if (event.type === 'finished') this.flushRunEvents();
    else this.batchTimer ??= setTimeout(() => this.flushRunEvents(), RUN_EVENT_BATCH_MS);
  }

  private flushRunEvents(): void {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = null;
    // Terminal output first, so the final lines are drawn before the run shows as finished.
    for (const flow of this.flows.values()) flow.flush();
    const byRun = new Map<string, RunEventNoOutput[]>();
    for (const { runId, event } of this.batch) {
      const list = byRun.get(runId) ?? [];
      list.push(event);
      byRun.set(runId, list);
    }
    this.batch = [];
    for (const [runId, events] of byRun) this.sendEvent({ type: 'run-events', runId, events });
  }

  close(): void {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    for (const flow of this.flows.values()) flow.dispose();
    for (const id of this.shellIds) this.host.shells.close(id);
    for (const ac of this.searches.values()) ac.abort();
    this.host.disconnect(this);
  }

  private makeHandlers(): ApiHandlers {
    const host = this.host;
    return {
      listExamples: () => host.listExamples(),
      validateSpec: async ({ specPath }) => {
        const r = await loadSpec(path.resolve(specPath));
        return r.ok ? { ok: true, spec: r.spec, warnings: r.warnings } : { ok: false, problems: r.problems };
      },
      startRun: ({ specPath, input, cluster }) => host.start(specPath, undefined, input, cluster),
      clusterStatus: ({ cluster }) => clusterStatus(cluster),
      cancelRun: async ({ runId }) => {
        const run = host.activeRun(runId);
        if (!run || !run.state.snapshot.live) return { cancelled: false };
        run.handle.cancel();
        return { cancelled: true };
      },
      resumeRun: ({ runDir, retryFailed }) => host.resume(runDir, !!retryFailed),
      listRuns: () => host.listRuns(true),
      history: () => host.history(),
      openPipeline: ({ runDir }) => readPipelineSnapshot(runDir),
      rerun: ({ runDir, reuse }) => host.rerun(runDir, !!reuse),
      deleteRun: ({ runDir }) => host.deleteRun(runDir),
      openRun: async ({ runId, runDir }) => {
        const run = runId ? host.activeRun(runId) : runDir ? host.activeRunAt(runDir) : undefined;
        if (run) {
          run.clients.add(this);
          return sendableSnapshot(run.state.snapshot);
        }
        if (!runDir) throw new Error(`run ${runId ?? '?'} is not active in this host: give its run folder`);
        return snapshotFromFolder(path.resolve(runDir));
      },
      closeRun: async ({ runId }) => {
        host.activeRun(runId)?.clients.delete(this);
        for (const [key, flow] of this.flows) {
          if (key.startsWith(`${runId}\n`)) {
            flow.dispose();
            this.flows.delete(key);
          }
        }
        return {};
      },
      readLog: ({ runDir, path: rel, start, end, waitMs }) => readLogRange(runDir, rel, start, end, waitMs),
      listLogs: ({ runDir }) => listLogTree(runDir),
      miniBatchLogs: ({ runDir, miniBatchId }) => miniBatchLogs(runDir, miniBatchId),
      readOutputPage: async ({ runDir, start, line, maxLines }) => {
        const { file, rel } = await outputFileOf(runDir);
        return readPage(file, rel, { start, line, maxLines });
      },
      searchOutput: async ({ runDir, query, regex, caseSensitive, limit }) => {
        const { file } = await outputFileOf(runDir);
        // A query that is empty or does not compile is this request's error, not an event's.
        checkQuery(query, !!regex, !!caseSensitive);
        const searchId = randomUUID();
        const ac = new AbortController();
        this.searches.set(searchId, ac);
        const base = { type: 'search-progress' as const, searchId };
        // Answer first; progress and matches follow as events.
        setImmediate(() => {
          // Off the host's thread, within a time budget: a runaway expression cannot stall the host.
          searchOffThread(file, {
            query,
            regex,
            caseSensitive,
            limit,
            signal: ac.signal,
            budgetMs: host.options.searchBudgetMs,
            progress: (p) => this.sendEvent({ ...base, ...p, done: false }),
          })
            .then((r) => this.sendEvent({ ...base, ...r, matches: [], done: true }))
            .catch((err: unknown) =>
              this.sendEvent({
                ...base,
                scannedBytes: 0,
                size: 0,
                matches: [],
                totalMatches: 0,
                done: true,
                error: err instanceof Error ? err.message : String(err),
              }),
            )
            .finally(() => this.searches.delete(searchId));
        });
        return { searchId };
      },
      cancelSearch: async ({ searchId }) => {
        const ac = this.searches.get(searchId);
        ac?.abort();
        return { cancelled: !!ac };
      },
      exportRun: async ({ runDir, what, dest, overwrite }) => {
        if (!overwrite && existsSync(dest)) return { exists: true };
        const bytes = await writeExportFile(path.resolve(runDir), what, path.resolve(dest));
        return { path: path.resolve(dest), bytes };
      },
      exportTicket: async ({ runDir, what }) => {
        const abs = path.resolve(runDir);
        if (!existsSync(path.join(abs, 'run.json')))
          throw new Error(`${abs}: not a run folder (no run.json)`);
        return { url: `/export?ticket=${host.downloads.issue(abs, what)}` };
      },
      listDir: ({ path: p }) => listDir(p),
      inspectScript: ({ path: p }) => inspectScript(path.resolve(p)),
      inspectInputs: ({ spec, specDir }) => inspectInputs(spec, path.resolve(specDir)),
      interpreters: ({ sourceDir, script }) => findInterpreters(sourceDir, script && absScript(script)),
      checkInterpreter: ({ python, specDir, script }) =>
        checkInterpreter(python, undefined, path.resolve(specDir), script && absScript(script)),
      validateDraft: ({ spec, specDir }) => validateDraft(spec, path.resolve(specDir)),
      saveSpec: ({ path: p, spec, overwrite, azureMlV2, template }) =>
        saveSpec(p, spec, !!overwrite, !!azureMlV2, template),
      readSpecFile: ({ path: p }) => readSpecFile(p),
      toAzureMlV2: async ({ spec }) => exportAzureMlV2(spec),
      specYaml: async ({ spec, path: p }) => ({ yaml: await yamlToSave(spec, p) }),
      devices: () => host.devices(),
      openShell: async ({ runId, process: proc, cols, rows, runDir }) => {
        // A live run's state, else the run folder's (a finished or failed run, or one from history):
        // the shell is the worker's environment either way, and outlives the run.
        const run = host.activeRun(runId);
        const snapshot =
          run?.state.snapshot ?? (runDir ? await snapshotFromFolder(path.resolve(runDir)) : null);
        const spec = snapshot?.spec;
        if (!snapshot || !spec)
          throw new Error(`run ${runId} is not active in this host and no run folder was given`);
        const worker = snapshot.workers.find((w) => w.name === proc);
        const shellId = host.shells.open(spec, worker?.gpu ?? null, proc, cols, rows, {
          data: (data) => this.sendEvent({ type: 'shell-output', shellId, data }),
          exit: (code) => {
            this.shellIds.delete(shellId);
            this.sendEvent({ type: 'shell-exit', shellId, code });
          },
        });
        this.shellIds.add(shellId);
        return { shellId };
      },
      shellInput: async ({ shellId, data }) => {
        this.ownShell(shellId);
        host.shells.input(shellId, data);
        return {};
      },
      shellResize: async ({ shellId, cols, rows }) => {
        this.ownShell(shellId);
        host.shells.resize(shellId, cols, rows);
        return {};
      },
      closeShell: async ({ shellId }) => {
        this.ownShell(shellId);
        host.shells.close(shellId);
        this.shellIds.delete(shellId);
        return {};
      },
    };
  }

  private ownShell(shellId: string): void {
    if (!this.shellIds.has(shellId)) throw new Error(`shell ${shellId} does not belong to this client`);
  }
}
