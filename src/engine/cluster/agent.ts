// `prs agent`: one machine as a node of a cluster. It keeps a heartbeat, takes worker starts from
// its own BullMQ queue, runs each as a local worker process (the same launcher and protocol as a
// run on one machine), takes that worker's mini-batch attempts from the worker's own BullMQ queue,
// and relays the worker's messages and output to the leader that asked.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker as QueueWorker, type ConnectionOptions, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { WorkerConfig } from '../../common/protocol';
import { GpuAssigner, gpuEnv } from '../devices';
import { ForkLauncher, type WorkerLauncher, type WorkerProcess } from '../launcher';
import { shareThreads } from '../threadShare';
import { AgentSamplers } from './agentSamples';
import { ClusterRefused, credentialsRefused, isAuthRefusal } from './clusterNodes';
import { DataCache, rebaseConfig, rebaseEnv, rebasePath, type Rebase } from './dataCache';
import { beat, type NodeInfo } from './registry';
import type { ClusterAddress } from './redisUrl';
import { RunMirror } from './runMirror';
import { agentTimeoutGraceS, heartbeatTtlS, keys, PREFIX, STREAM_MAXLEN } from './settings';
import {
  decode,
  encode,
  type FromAgent,
  type RunAttempt,
  type SessionData,
  type StartWorker,
  type ToAgent,
} from './wire';

export interface AgentOptions {
  address: ClusterAddress;
  name: string;
  processes: number;
  gpus: number[];
  launcher?: WorkerLauncher;
  /** The cache of files fetched from leaders (--work-dir); default: a folder under the OS temp dir. */
  workDir?: string;
  log?: (line: string) => void;
}

interface Session {
  session: string;
  process: string;
  proc: WorkerProcess;
  gpu: number | null;
  /** Told to stop (Ctrl-C): it finishes its current mini-batch and gets no more. */
  handingBack: boolean;
  /** Mini-batches sent to it and not yet reported, in order; the first runs since `since`. */
  held: number[];
  since: number;
  timeoutMs: number | null;
  /** The leader's roots this machine runs from its own copies. */
  rebase: Rebase;
  data: SessionData | null;
  /** Messages to the worker go out in order, each after the inputs of the one before are here. */
  inbound: Promise<void>;
  /** Its run queue's consumer, closed when the worker exits. */
  runs: QueueWorker | null;
  /** Attempts taken ahead of their turn wait here: the worker gets them in the leader's order. */
  nextSeq: number;
  early: Map<number, { forward: () => void; reject: (err: Error) => void }>;
  /** Each forwarded attempt's BullMQ job, settled once its result is relayed or the worker is gone. */
  waiters: Map<number, { resolve: (status: string) => void; reject: (err: Error) => void }>;
  /** Why its attempts fail when it exits (the agent stopped it). */
  failWith: string | null;
}

/** Attempts one worker's queue consumer takes at once: enough that a worker is never idle across a round trip. */
const RUN_CONCURRENCY = 64;

/** Messages for a worker whose start job has not been taken yet (the leader sends init at once). */
const PENDING_LIMIT = 1000;
const STOP_GRACE_MS = 30_000;

export class Agent {
  private readonly redis: Redis;
  private readonly reader: Redis;
  private queueWorker: QueueWorker | null = null;
  private readonly sessions = new Map<string, Session>();
  private readonly pending = new Map<string, ToAgent[]>();
  /** Killed by the leader before their start job was taken: they must not start at all. */
  private readonly killedEarly = new Set<string>();
  private readonly cache: DataCache;
  private readonly sessionData = new Map<string, Promise<SessionData | null>>();
  private readonly announcedCopies = new Set<string>();
  /** Per run session: the local stand-in for a run folder this machine does not see. */
  private readonly mirrors = new Map<string, RunMirror>();
  private readonly gpus: GpuAssigner;
  private readonly launcher: WorkerLauncher;
  private readonly info: NodeInfo;
  private beatTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly log: (line: string) => void;
  private readonly samplers: AgentSamplers;

  constructor(private readonly o: AgentOptions) {
    this.redis = new Redis(o.address.options);
    this.reader = new Redis(o.address.options);
    for (const r of [this.redis, this.reader]) r.on('error', () => undefined);
    this.gpus = new GpuAssigner(o.gpus);
    this.launcher = o.launcher ?? new ForkLauncher();
    this.log = o.log ?? ((line) => process.stderr.write(line + '\n'));
    this.cache = new DataCache(o.workDir ?? path.join(os.tmpdir(), 'prs-agent', o.name), o.name);
    this.info = {
      name: o.name,
      host: os.hostname(),
      processes: o.processes,
      gpus: o.gpus,
      pid: process.pid,
      startedAt: Date.now(),
      beatAt: Date.now(),
      running: 0,
    };
    this.samplers = new AgentSamplers(o.name, o.gpus, (session, m) => this.send(session, m));
  }

  async start(): Promise<void> {
    const ttl = heartbeatTtlS();
    await beat(this.redis, this.info, ttl, true).catch((err: Error) => {
      // Nothing started: let the process end with the refusal.
      this.redis.disconnect();
      this.reader.disconnect();
      throw isAuthRefusal(err) ? new ClusterRefused(credentialsRefused(this.o.address, err.message)) : err;
    });
    this.beatTimer = setInterval(() => void this.heartbeat(ttl), (ttl * 1000) / 3);
    void this.readInbox();
    this.queueWorker = new QueueWorker(
      keys.agentQueue(this.o.name),
      (job: Job<StartWorker>) => this.run(job),
      {
        connection: this.o.address.options as ConnectionOptions,
        prefix: PREFIX,
        // The leader decides how many workers an agent runs; the queue only delivers the starts.
        concurrency: 1000,
        // A start whose agent died is not started again: the leader has replaced that worker.
        maxStalledCount: 0,
      },
    );
    this.queueWorker.on('error', () => undefined);
    this.log(
      `Agent ${this.o.name} joined the cluster at ${this.o.address.display} with ${this.o.processes} process(es), GPUs: ${this.o.gpus.length > 0 ? this.o.gpus.join(',') : 'none'}; files fetched from leaders go to ${this.cache.workDir}.`,
    );
  }

  private async heartbeat(ttl: number): Promise<void> {
    this.info.running = this.sessions.size;
    try {
      const kept = await beat(this.redis, this.info, ttl, false);
      if (!kept) {
        // Our heartbeat lapsed (a partition, a pause): the leaders took this node for lost and
        // reran its work elsewhere, so what it still runs would only produce duplicates.
        this.log(
          `Agent ${this.o.name}: the cluster took this node for lost; stopping its ${this.sessions.size} worker(s) and joining again.`,
        );
        for (const s of this.sessions.values()) s.proc.kill('SIGKILL');
      }
      await this.dropOrphans();
      this.enforceTimeouts();
    } catch {
      // Redis unreachable: try again at the next beat.
    }
  }

  private enforceTimeouts(): void {
    const now = Date.now();
    for (const s of this.sessions.values()) {
      if (s.timeoutMs === null || s.held.length === 0 || now - s.since <= s.timeoutMs) continue;
      this.log(
        `Agent ${this.o.name}: mini-batch ${s.held[0]} on ${s.process} ran past run_invocation_timeout and its leader did not stop it; stopping ${s.process}.`,
      );
      s.failWith = `mini-batch ${s.held[0]} ran past run_invocation_timeout on agent ${this.o.name}, which stopped ${s.process}`;
      s.held = [];
      s.proc.kill('SIGKILL');
    }
  }

  /** Workers whose leader is gone (killed, or its run ended without stopping them). */
  private async dropOrphans(): Promise<void> {
    const bySession = new Map<string, Session[]>();
    for (const s of this.sessions.values())
      bySession.set(s.session, [...(bySession.get(s.session) ?? []), s]);
    for (const [session, list] of bySession) {
      if ((await this.redis.exists(keys.leader(session))) === 0) {
        this.log(
          `Agent ${this.o.name}: the leader of ${session} is gone; stopping its ${list.length} worker(s).`,
        );
        for (const s of list) s.proc.kill('SIGKILL');
      }
    }
    // A session's manifest is kept for its next worker start, not for ever.
    for (const session of this.sessionData.keys())
      if (!bySession.has(session) && (await this.redis.exists(keys.leader(session))) === 0)
        this.sessionData.delete(session);
  }

  private async readInbox(): Promise<void> {
    let last = '$';
    while (!this.stopped) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        reply = (await this.reader.xread(
          'BLOCK',
          2000,
          'STREAMS',
          keys.agentInbox(this.o.name),
          last,
        )) as typeof reply;
      } catch {
        if (this.stopped) return;
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          last = id;
          const message = decode<ToAgent>(fields);
          if (message) this.deliver(message);
        }
      }
    }
  }

  private deliver(message: ToAgent): void {
    const key = `${message.s}/${message.p}`;
    const session = this.sessions.get(key);
    if ('kill' in message) {
      if (session) session.proc.kill(message.kill);
      else this.killedEarly.add(key);
      return;
    }
    if (session) {
      const m = message.m;
      if (session.handingBack && m.t === 'run') return;
      if (m.t === 'run') {
        if (session.held.length === 0) session.since = Date.now();
        session.held.push(...m.batches.map((b) => b.id));
      }
      session.inbound = session.inbound
        .then(async () => {
          if (m.t === 'init')
            return session.proc.send({ ...m, config: rebaseConfig(m.config, session.rebase) });
          if (m.t !== 'run' || !session.data || !message.d) return session.proc.send(m);
          let batches = m.batches;
          try {
            batches = await this.cache.localize(session.data, where(key), m.batches, message.d);
          } catch (err) {
            // The worker then fails the mini-batch on the missing file, and the leader retries it.
            this.log(`Agent ${this.o.name}: ${(err as Error).message}.`);
          }
          session.proc.send({ ...m, batches });
        })
        // A send to a worker that just exited must not stop the chain for good.
        .catch(() => undefined);
    } else {
      const list = this.pending.get(key) ?? [];
      if (list.length < PENDING_LIMIT) list.push(message);
      this.pending.set(key, list);
    }
  }

  /** A run folder this machine does not see: its workers write into a local one the leader gets. */
  private mirrorFor(session: string, config: WorkerConfig, data: SessionData): RunMirror | null {
    // outputDir is the run folder's outputs/ (logTree.runPaths).
    if (existsSync(path.dirname(config.outputDir))) return null;
    let mirror = this.mirrors.get(session);
    if (!mirror) {
      const dir = path.join(
        this.cache.workDir,
        'runs',
        `${where(session)}-${randomBytes(4).toString('hex')}`,
      );
      mirror = new RunMirror(dir, data, this.o.name, this.log);
      this.mirrors.set(session, mirror);
      mirror.start();
      this.log(
        `Agent ${this.o.name}: the run folder ${path.dirname(config.outputDir)} is not here; its workers write into ${dir}, sent to the leader.`,
      );
    }
    mirror.users++;
    return mirror;
  }

  private async releaseMirror(session: string, mirror: RunMirror): Promise<void> {
    if (--mirror.users > 0) return mirror.flush();
    if (this.mirrors.get(session) === mirror) this.mirrors.delete(session);
    await mirror.close();
  }

  /** The run session's data endpoint and declared files, read once per session. */
  private dataOf(session: string): Promise<SessionData | null> {
    let p = this.sessionData.get(session);
    if (!p) {
      p = this.redis
        .get(keys.data(session))
        .then((text) => (text ? (JSON.parse(text) as SessionData) : null));
      this.sessionData.set(session, p);
      p.catch(() => this.sessionData.delete(session));
    }
    return p;
  }

  /** The roots of the leader this machine must run from fetched copies (it does not hold the same files). */
  private async prepare(session: string): Promise<{ data: SessionData | null; rebase: Rebase }> {
    const data = await this.dataOf(session);
    if (!data) return { data, rebase: [] };
    const rebase = await this.cache.rebaseFor(data);
    for (const [from, to] of rebase) {
      if (this.announcedCopies.has(to)) continue;
      this.announcedCopies.add(to);
      this.log(
        `Agent ${this.o.name}: ${from} is not the leader's here; using the leader's copy, fetched into ${to}.`,
      );
    }
    return { data, rebase };
  }

  private async send(session: string, message: FromAgent): Promise<void> {
    await this.redis
      .xadd(keys.sessionOutbox(session), 'MAXLEN', '~', STREAM_MAXLEN, '*', ...encode(message))
      .catch(() => undefined);
  }

  /** One worker process for one leader, for its whole life: the start job ends when it exits. */
  private async run(job: Job<StartWorker>): Promise<void> {
    const { session, process: name, env, cwd, config } = job.data;
    const key = `${session}/${name}`;
    if (this.stopped || this.info.leaving) {
      this.pending.delete(key);
      // Handed back at once: the leader starts it on another node.
      await this.send(session, {
        p: name,
        k: 'exit',
        exit: {
          code: 0,
          signal: null,
          reason: 'clean-exit',
          returnCode: 0,
          handedBack: true,
          error: `node ${this.o.name} is leaving`,
        },
      });
      return;
    }
    if ((await this.redis.exists(keys.leader(session))) === 0) return void this.pending.delete(key);
    let prepared: { data: SessionData | null; rebase: Rebase };
    try {
      prepared = await this.prepare(session);
    } catch (err) {
      const why = (err as Error).message;
      this.pending.delete(key);
      this.log(`Agent ${this.o.name}: refusing ${name} of ${session}: ${why}.`);
      await this.send(session, {
        p: name,
        k: 'exit',
        exit: {
          code: null,
          signal: null,
          reason: 'launch-failed',
          returnCode: 1,
          error: `agent ${this.o.name}: ${why}`,
        },
      });
      return;
    }
    if (this.killedEarly.delete(key)) {
      this.pending.delete(key);
      await this.send(session, {
        p: name,
        k: 'exit',
        exit: { code: null, signal: 'SIGKILL', reason: 'killed', returnCode: -9 },
      });
      return;
    }
    const mirror = config && prepared.data ? this.mirrorFor(session, config, prepared.data) : null;
    if (mirror) prepared = { ...prepared, rebase: withRunFolder(prepared.rebase, config!, mirror) };
    const gpu = this.gpus.acquire(name);
    const workerEnv: Record<string, string> = {
      ...rebaseEnv(env, prepared.rebase),
      PRS_AGENT_NAME: this.o.name,
    };
    delete workerEnv.CUDA_VISIBLE_DEVICES;
    for (const [k, v] of Object.entries(gpuEnv(gpu))) if (v !== undefined) workerEnv[k] = v;
    // This machine's cores, shared by this agent's workers (the leader leaves it to the agent).
    shareThreads(workerEnv, this.o.processes);
    const workerConfig = config && rebaseConfig(config, prepared.rebase);
    if (mirror && workerConfig) makeRunFolders(workerConfig);
    const proc = this.launcher.launch({
      name,
      env: workerEnv,
      cwd: rebasePath(cwd, prepared.rebase),
      config: workerConfig,
    });
    const s: Session = {
      session,
      process: name,
      proc,
      gpu,
      handingBack: false,
      held: [],
      since: Date.now(),
      timeoutMs: job.data.runInvocationTimeoutS
        ? job.data.runInvocationTimeoutS * 1000 + agentTimeoutGraceS() * 1000
        : null,
      rebase: prepared.rebase,
      data: prepared.data,
      inbound: Promise.resolve(),
      runs: null,
      nextSeq: 0,
      early: new Map(),
      waiters: new Map(),
      failWith: null,
    };
    this.sessions.set(key, s);
    void this.send(session, { p: name, k: 'started', node: this.o.name, pid: proc.pid ?? null });
    // outputDir is in the run folder: the disk sampled is the one holding it.
    this.samplers.workerStarted(
      session,
      name,
      proc.pid,
      job.data.resourceMonitorIntervalS,
      config?.outputDir ?? cwd,
    );
    // Output and messages go out in order: one chain of writes per worker.
    let chain = Promise.resolve();
    const relay = (m: FromAgent) => {
      chain = chain.then(() => this.send(session, m));
    };
    proc.stdout?.setEncoding('utf8');
    proc.stderr?.setEncoding('utf8');
    proc.stdout?.on('data', (text: string) => relay({ p: name, k: 'out', text }));
    proc.stderr?.on('data', (text: string) => relay({ p: name, k: 'err', text }));
    proc.onMessage((m) => {
      if (m.t === 'results') {
        s.held.splice(0, m.results.length);
        s.since = Date.now();
        for (const r of m.results) void this.cache.drop(where(key), r.id);
      }
      relay({ p: name, k: 'msg', m });
      // Its job completes once the leader can read the result: a completed job means "relayed".
      if (m.t === 'results')
        for (const r of m.results) {
          const waiter = s.waiters.get(r.id);
          s.waiters.delete(r.id);
          if (waiter) chain = chain.then(() => waiter.resolve(r.status));
        }
    });
    const queued = this.pending.get(key);
    this.pending.delete(key);
    for (const m of queued ?? []) this.deliver(m);
    s.runs = new QueueWorker(
      keys.runQueue(session, name),
      (attempt: Job<RunAttempt>) => this.runAttempt(s, attempt.data),
      {
        connection: this.o.address.options as ConnectionOptions,
        prefix: PREFIX,
        concurrency: RUN_CONCURRENCY,
        // A taken attempt is never taken again: a stalled one fails, and the leader retries it.
        maxStalledCount: 0,
        // A job Redis moved to active whose reply a Redis crash lost is held by nobody: it is
        // failed (and retried by the leader) within ~15 s rather than BullMQ's default ~60 s.
        lockDuration: 10_000,
        stalledInterval: 5_000,
      },
    );
    s.runs.on('error', () => undefined);
    await new Promise<void>((resolve) =>
      proc.onExit((exit) => {
        this.sessions.delete(key);
        for (const [id, waiter] of s.waiters)
          waiter.reject(
            new Error(
              s.failWith ??
                `${name} ended (${exit.reason}, returncode ${exit.returnCode}) before it reported mini-batch ${id}`,
            ),
          );
        s.waiters.clear();
        for (const early of s.early.values())
          early.reject(new Error(`${name} ended before it took this attempt`));
        s.early.clear();
        void s.runs?.close().catch(() => undefined);
        this.gpus.release(name);
        void this.cache.dropAll(where(key));
        // What it wrote reaches the leader's run folder before its exit does (the leader then reads its metrics).
        if (mirror) chain = chain.then(() => this.releaseMirror(session, mirror));
        this.samplers.workerEnded(session, name);
        // A clean exit after our stop: what the leader still had queued for it never ran.
        relay({ p: name, k: 'exit', exit: { ...exit, handedBack: s.handingBack && exit.code === 0 } });
        void chain.then(resolve);
      }),
    );
  }

  /** One attempt's job: forwarded to the worker in the leader's order; settles with its result. */
  private runAttempt(s: Session, attempt: RunAttempt): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      if (!this.sessions.has(`${s.session}/${s.process}`))
        return reject(new Error(`${s.process} of ${s.session} is not running on agent ${this.o.name}`));
      const forward = () => {
        // Leaving: the leader gets it back with the worker's exit (handedBack), unused.
        if (s.handingBack) return resolve('handed-back');
        s.waiters.set(attempt.batch.id, { resolve, reject });
        this.deliver({ s: s.session, p: s.process, m: { t: 'run', batches: [attempt.batch] }, d: attempt.d });
      };
      s.early.set(attempt.seq, { forward, reject });
      for (let next = s.early.get(s.nextSeq); next; next = s.early.get(s.nextSeq)) {
        s.early.delete(s.nextSeq++);
        next.forward();
      }
    });
  }

  /**
   * Ctrl-C: take no new workers, let each finish the mini-batch it runs (the leader gets back the
   * ones it had only queued, and places them elsewhere), then leave the cluster.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.info.leaving = true;
    await beat(this.redis, this.info, heartbeatTtlS(), false).catch(() => undefined);
    const running = [...this.sessions.values()];
    if (running.length > 0)
      this.log(
        `Agent ${this.o.name}: finishing ${running.length} worker(s)' current mini-batches before leaving.`,
      );
    for (const s of running) {
      s.handingBack = true;
      s.proc.send({ t: 'stop' });
    }
    const deadline = Date.now() + STOP_GRACE_MS;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const s of this.sessions.values()) s.proc.kill('SIGKILL');
    while (this.sessions.size > 0) await new Promise((r) => setTimeout(r, 50));
    // Starts that arrive meanwhile are refused (leaving); the queue closes once nothing runs.
    await this.queueWorker?.close().catch(() => undefined);
    await this.samplers.close();
    this.stopped = true;
    if (this.beatTimer) clearInterval(this.beatTimer);
    await this.redis.del(keys.node(this.o.name)).catch(() => undefined);
    this.reader.disconnect();
    await this.redis.quit().catch(() => undefined);
    this.log(`Agent ${this.o.name} left the cluster.`);
  }
}

/** A worker's folder for its fetched inputs: its session and process, as one safe name. */
function where(key: string): string {
  return key.replace(/[^\w.-]/g, '_');
}

function withRunFolder(rebase: Rebase, config: WorkerConfig, mirror: RunMirror): Rebase {
  const pair: [string, string] = [path.dirname(config.outputDir), mirror.localDir];
  return [...rebase, pair].sort((a, b) => b[0].length - a[0].length);
}

/** The folders the leader makes in its run folder for a worker (a logger appends without making them). */
function makeRunFolders(config: WorkerConfig): void {
  const files = [config.entryLogFile, config.errorLogFile, config.metricsFile, config.profileFile];
  for (const dir of [config.logDir, config.outputDir, ...files.filter((f) => f).map((f) => path.dirname(f!))])
    mkdirSync(dir, { recursive: true });
}
