// `prs agent`: one machine as a node of a cluster. It keeps a heartbeat, takes worker starts from
// its own BullMQ queue, runs each as a local worker process (the same launcher and protocol as a
// run on one machine), and relays the worker's messages and output to the leader that asked.

import os from 'node:os';
import { Worker as QueueWorker, type ConnectionOptions, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { LeaderMessage } from '../../common/protocol';
import { GpuAssigner, gpuEnv } from '../devices';
import { ForkLauncher, type WorkerLauncher, type WorkerProcess } from '../launcher';
import { AgentSamplers } from './agentSamples';
import { ClusterRefused, credentialsRefused, isAuthRefusal } from './clusterNodes';
import { beat, type NodeInfo } from './registry';
import { differs, type CodeStamp } from './sameCode';
import type { ClusterAddress } from './redisUrl';
import { agentTimeoutGraceS, heartbeatTtlS, keys, PREFIX, STREAM_MAXLEN } from './settings';
import { decode, encode, type FromAgent, type StartWorker, type ToAgent } from './wire';

export interface AgentOptions {
  address: ClusterAddress;
  name: string;
  processes: number;
  gpus: number[];
  launcher?: WorkerLauncher;
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
}

/** Messages for a worker whose start job has not been taken yet (the leader sends init at once). */
const PENDING_LIMIT = 1000;
const STOP_GRACE_MS = 30_000;

export class Agent {
  private readonly redis: Redis;
  private readonly reader: Redis;
  private queueWorker: QueueWorker | null = null;
  private readonly sessions = new Map<string, Session>();
  private readonly pending = new Map<string, LeaderMessage[]>();
  /** Killed by the leader before their start job was taken: they must not start at all. */
  private readonly killedEarly = new Set<string>();
  private readonly stamps = new Map<string, CodeStamp>();
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
      `Agent ${this.o.name} joined the cluster at ${this.o.address.display} with ${this.o.processes} process(es), GPUs: ${this.o.gpus.length > 0 ? this.o.gpus.join(',') : 'none'}.`,
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
      if (session.handingBack && message.m.t === 'run') return;
      if (message.m.t === 'run') {
        if (session.held.length === 0) session.since = Date.now();
        session.held.push(...message.m.batches.map((b) => b.id));
      }
      session.proc.send(message.m);
    } else {
      const list = this.pending.get(key) ?? [];
      if (list.length < PENDING_LIMIT) list.push(message.m);
      this.pending.set(key, list);
    }
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
    const notSame = job.data.code ? differs(job.data.code, this.stamps) : null;
    if (notSame) {
      this.pending.delete(key);
      this.log(`Agent ${this.o.name}: refusing ${name} of ${session}: ${notSame}.`);
      await this.send(session, {
        p: name,
        k: 'exit',
        exit: {
          code: null,
          signal: null,
          reason: 'launch-failed',
          returnCode: 1,
          error: `agent ${this.o.name}: ${notSame}`,
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
    const gpu = this.gpus.acquire(name);
    const workerEnv: Record<string, string> = { ...env, PRS_AGENT_NAME: this.o.name };
    delete workerEnv.CUDA_VISIBLE_DEVICES;
    for (const [k, v] of Object.entries(gpuEnv(gpu))) if (v !== undefined) workerEnv[k] = v;
    const proc = this.launcher.launch({ name, env: workerEnv, cwd, config });
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
      }
      relay({ p: name, k: 'msg', m });
    });
    const queued = this.pending.get(key);
    this.pending.delete(key);
    for (const m of queued ?? []) this.deliver({ s: session, p: name, m });
    await new Promise<void>((resolve) =>
      proc.onExit((exit) => {
        this.sessions.delete(key);
        this.gpus.release(name);
        this.samplers.workerEnded(session, name);
        // A clean exit after our stop: what the leader still had queued for it never ran.
        relay({ p: name, k: 'exit', exit: { ...exit, handedBack: s.handingBack && exit.code === 0 } });
        void chain.then(resolve);
      }),
    );
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
