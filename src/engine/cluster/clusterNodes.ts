// The leader's side of a cluster. Each node id of the job (0 … node_count-1) is a seat that one
// agent fills at a time; its workers are started through that agent's BullMQ queue (deterministic
// job ids: a start added twice is one worker), each mini-batch attempt is a BullMQ job on the
// worker's own run queue (id `<session>.<batch>.<attempt>`: re-adding it is a no-op), and the
// rest (init, stop, results, output) travels on Redis streams. The
// leader's pools supervise them as they do local workers, and the journal stays the only truth.
// An agent whose heartbeat expires is lost: the seat's pool is told, its workers end, their
// attempts are retried elsewhere, anything they send later is dropped, and the seat waits for a
// spare agent to take its replacements.

import { Job, Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { RunNode } from '../../common/events';
import type { MiniBatch } from '../../common/minibatch';
import type { NodePool } from '../leader';
import type { LaunchOptions, WorkerLauncher, WorkerProcess } from '../launcher';
import type { RemoteNodes } from '../localNodes';
import { listNodes, type NodeInfo } from './registry';
import type { ClusterAddress } from './redisUrl';
import { RemotePool } from './remotePool';
import { RemoteWorker } from './remoteWorker';
import type { DataEndpoint } from './dataEndpoint';
import type { Bundle } from './manifest';
import { heartbeatTtlS, keys, PREFIX, STREAM_MAXLEN } from './settings';
import {
  attemptJobId,
  decode,
  encode,
  startJobId,
  type RunAttempt,
  type AgentSamples,
  type FromAgent,
  type InputStamp,
  type SessionData,
  type StartWorker,
  type ToAgent,
} from './wire';

export interface NodeEvent {
  kind: 'joined' | 'placed' | 'lost';
  message: string;
}

export interface ClusterNodesOptions {
  address: ClusterAddress;
  /** Unique per leader start (a resume is a new session of the same run). */
  session: string;
  nodeCount: number;
  capacity: number;
  runInvocationTimeoutS: number;
  /** No worker starts before node_count agents are live; past this (epoch ms) waiting starts fail, which fails the job. */
  joinDeadline: number;
  /** The job's resource_monitor_interval, for the agents' samples of their machines. */
  resourceMonitorIntervalS?: number;
  onNodeEvent?: (event: NodeEvent) => void;
  /** The run's data endpoint and what it declared: agents fetch what they do not hold. */
  data?: { endpoint: DataEndpoint; bundle: Bundle };
}

export class ClusterNodes implements RemoteNodes {
  readonly capacity: number;
  private readonly redis: Redis;
  private readonly reader: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Map<string, RemoteWorker>();
  /** Seat (node id) → the agent that fills it. */
  private readonly seats = new Map<string, string | null>();
  private readonly pools = new Map<string, RemotePool>();
  private readonly sampleListeners = new Map<string, (samples: AgentSamples) => void>();
  private agents = new Map<string, NodeInfo>();
  private readonly lost = new Set<string>();
  private readonly waiting: RemoteWorker[] = [];
  private gateOpen = false;
  private timer: NodeJS.Timeout | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly ttlS = heartbeatTtlS();
  private nodeListener: ((node: RunNode) => void) | null = null;
  /** Each seat's last agent, so a seat whose agent was lost still shows who it was. */
  private readonly lastSeated = new Map<string, NodeInfo>();
  /** Agents back after they were taken for lost. */
  private readonly rejoined = new Set<string>();
  /** Each remote worker's run queue, the count of attempts sent to it, and those it has not reported (by mini-batch). */
  private readonly runQueues = new Map<string, Queue>();
  private readonly sentCount = new Map<string, number>();
  private readonly awaiting = new Map<string, Map<number, AttemptJob>>();

  constructor(private readonly o: ClusterNodesOptions) {
    this.capacity = o.capacity;
    this.redis = new Redis(o.address.options);
    this.reader = new Redis(o.address.options);
    for (const r of [this.redis, this.reader]) r.on('error', () => undefined);
  }

  /** Announces the leader (agents stop the workers of a leader that is gone) and starts watching. */
  async start(): Promise<void> {
    if (this.o.data) {
      const { endpoint, bundle } = this.o.data;
      const data: SessionData = { url: endpoint.url, token: endpoint.token, bundle };
      await this.redis.set(
        keys.data(this.o.session),
        JSON.stringify(data),
        'PX',
        Math.round(this.ttlS * 1000),
      );
    }
    await this.announce();
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), (this.ttlS * 1000) / 3);
    this.reconcileTimer = setInterval(() => void this.reconcile().catch(() => undefined), RECONCILE_MS);
    // After a reconnect the adds and results of the gap are what may be missing.
    this.redis.on('ready', () => void this.reconcile().catch(() => undefined));
    void this.readOutbox();
  }

  launcher(nodeId: string): WorkerLauncher {
    this.seats.set(nodeId, this.seats.get(nodeId) ?? null);
    return { launch: (options) => this.launch(nodeId, options) };
  }

  wrap(pool: NodePool, nodeId: string): NodePool {
    const remote = new RemotePool(pool);
    this.pools.set(nodeId, remote);
    return remote;
  }

  onNodes(listener: (node: RunNode) => void): void {
    this.nodeListener = listener;
  }

  /** Each filled seat as the app shows it; called on every heartbeat round and each change. */
  private reportSeats(): void {
    if (!this.nodeListener) return;
    for (const [id, agent] of this.seats) {
      const now = agent ? this.agents.get(agent) : undefined;
      if (now) this.lastSeated.set(id, now);
      const info = now ?? this.lastSeated.get(id);
      if (!info) continue;
      const state = !now ? 'lost' : now.leaving ? 'left' : this.rejoined.has(now.name) ? 'rejoined' : 'live';
      const { name, host, processes, gpus, beatAt } = info;
      this.nodeListener({ id, name, host, processes, gpus, state, beatAt, agent: true });
    }
  }

  /** The samples the agent filling this seat sends of its machine and its workers. */
  onSamples(nodeId: string, listener: (samples: AgentSamples) => void): void {
    this.sampleListeners.set(nodeId, listener);
  }

  private launch(nodeId: string, options: LaunchOptions): WorkerProcess {
    const worker: RemoteWorker = new RemoteWorker(options.name, nodeId, options, (agent, message) =>
      'm' in message && message.m.t === 'run'
        ? this.addAttempts(worker, message.m)
        : this.toAgent(agent, { s: this.o.session, p: options.name, ...message } as ToAgent),
    );
    this.workers.set(options.name, worker);
    worker.onExit(() => {
      this.workers.delete(options.name);
      void this.closeRunQueue(options.name);
    });
    this.place(worker);
    return worker;
  }

  private usable(name: string | null | undefined): name is string {
    if (!name) return false;
    const info = this.agents.get(name);
    return !!info && !info.leaving && !this.lost.has(name);
  }

  /** The seat's agent; an empty seat takes the longest-standing agent no other seat has. */
  private agentFor(nodeId: string): string | null {
    const current = this.seats.get(nodeId);
    if (this.usable(current)) return current;
    const taken = new Set([...this.seats.values()].filter((a): a is string => this.usable(a)));
    const spare = [...this.agents.values()]
      .filter((a) => this.usable(a.name) && !taken.has(a.name))
      .sort((a, b) => a.startedAt - b.startedAt || a.name.localeCompare(b.name))[0];
    if (!spare) return null;
    this.seats.set(nodeId, spare.name);
    this.o.onNodeEvent?.({
      kind: 'placed',
      message: `Node ${nodeId} runs on agent ${spare.name} (${spare.host}, ${spare.processes} process(es)).`,
    });
    this.reportSeats();
    return spare.name;
  }

  private place(worker: RemoteWorker): void {
    const agent = this.gateOpen ? this.agentFor(worker.nodeId) : null;
    if (agent === null) {
      this.waiting.push(worker);
      return;
    }
    const job: StartWorker = {
      session: this.o.session,
      process: worker.name,
      env: worker.options.env,
      cwd: worker.options.cwd,
      config: worker.options.config,
      runInvocationTimeoutS: this.o.runInvocationTimeoutS,
      resourceMonitorIntervalS: this.o.resourceMonitorIntervalS,
    };
    worker.placed(agent);
    void this.queue(agent)
      .add('start', job, {
        jobId: startJobId(this.o.session, worker.name),
        // The leader owns retries (run_max_try); BullMQ delivers each start once.
        attempts: 1,
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 3600 },
      })
      .catch((err: Error) =>
        worker.finish({
          code: null,
          signal: null,
          reason: 'launch-failed',
          returnCode: 1,
          error: `could not queue ${worker.name} on agent ${agent}: ${err.message}`,
        }),
      );
  }

  /** One BullMQ job per attempt, in the order the pool sent them; the agent forwards each to the worker. */
  private addAttempts(worker: RemoteWorker, m: { batches: MiniBatch[]; attempts?: number[] }): void {
    let seq = this.sentCount.get(worker.name) ?? 0;
    const awaiting = this.awaiting.get(worker.name) ?? new Map<number, AttemptJob>();
    this.awaiting.set(worker.name, awaiting);
    const jobs = m.batches.map((batch, i): AttemptJob => {
      const job: AttemptJob = {
        name: 'run',
        data: { seq: seq++, batch, ...this.inputsOf(batch) },
        opts: {
          jobId: attemptJobId(this.o.session, batch.id, m.attempts?.[i] ?? 1),
          // The leader owns retries (run_max_try); BullMQ delivers each attempt once.
          attempts: 1,
          removeOnComplete: { count: ATTEMPTS_KEPT },
          removeOnFail: { count: ATTEMPTS_KEPT },
        },
      };
      awaiting.set(batch.id, job);
      return job;
    });
    this.sentCount.set(worker.name, seq);
    // Redis away: the reconciliation adds them again (same ids) once it is back.
    void this.runQueue(worker.name)
      .addBulk(jobs)
      .catch(() => undefined);
  }

  /** A mini-batch's input files become fetchable, and the agent learns how to tell its own copies. */
  private inputsOf(batch: MiniBatch): { d?: Record<string, InputStamp> } {
    const endpoint = this.o.data?.endpoint;
    if (!endpoint) return {};
    const d: Record<string, InputStamp> = {};
    for (const source of batch.sources)
      for (const file of source.kind === 'files' ? source.files : [source.file]) {
        const stamp = d[file] ? null : endpoint.declareInput(file);
        if (stamp) d[file] = stamp;
      }
    return { d };
  }

  private runQueue(process: string): Queue {
    let q = this.runQueues.get(process);
    if (!q) {
      q = new Queue(keys.runQueue(this.o.session, process), {
        connection: this.o.address.options as ConnectionOptions,
        prefix: PREFIX,
      });
      q.on('error', () => undefined);
      this.runQueues.set(process, q);
    }
    return q;
  }

  /** Its worker is gone: attempts still waiting are never taken (the pool has returned or failed them). */
  private async closeRunQueue(process: string): Promise<void> {
    this.awaiting.delete(process);
    const q = this.runQueues.get(process);
    if (!q) return;
    this.runQueues.delete(process);
    await q.drain().catch(() => undefined);
    await q.close().catch(() => undefined);
  }

  /**
   * BullMQ's events are best effort, so the leader reads the state of the attempts it waits on: one
   * missing (its add was lost to a Redis restart) is added again under its id; one failed on the
   * agent (its processor threw, e.g. the agent's own run_invocation_timeout, or it stalled) while
   * the worker is still held here fails that worker, so the pool retries the attempt.
   */
  private async reconcile(): Promise<void> {
    for (const [process, awaiting] of [...this.awaiting]) {
      const worker = this.workers.get(process);
      const q = this.runQueues.get(process);
      if (!worker || worker.isExited || !q || awaiting.size === 0) continue;
      const missing: AttemptJob[] = [];
      for (const [batchId, job] of [...awaiting]) {
        const found = await Job.fromId(q, job.opts.jobId);
        if (!found) {
          missing.push(job);
          continue;
        }
        if ((await found.getState()) !== 'failed' || !awaiting.has(batchId)) continue;
        const why = `the BullMQ job ${job.opts.jobId} of mini-batch ${batchId} on ${process} failed: ${found.failedReason || 'no reason given'}`;
        if (worker.agent) this.toAgent(worker.agent, { s: this.o.session, p: process, kill: 'SIGKILL' });
        worker.finish({ code: 1, signal: null, reason: 'crashed', returnCode: 1, error: why });
        break;
      }
      if (missing.length > 0 && !worker.isExited) await q.addBulk(missing);
    }
  }
  private queue(agent: string): Queue {
    let q = this.queues.get(agent);
    if (!q) {
      q = new Queue(keys.agentQueue(agent), {
        connection: this.o.address.options as ConnectionOptions,
        prefix: PREFIX,
      });
      q.on('error', () => undefined);
      this.queues.set(agent, q);
    }
    return q;
  }

  private toAgent(agent: string, message: ToAgent): void {
    void this.redis
      .xadd(keys.agentInbox(agent), 'MAXLEN', '~', STREAM_MAXLEN, '*', ...encode(message))
      .catch(() => undefined);
  }

  private announce(): Promise<unknown> {
    const ttlMs = Math.round(this.ttlS * 1000);
    // The token lives as long as its leader: an agent never reads one of a session that is gone.
    if (this.o.data) void this.redis.pexpire(keys.data(this.o.session), ttlMs).catch(() => undefined);
    return this.redis.set(keys.leader(this.o.session), String(process.pid), 'PX', ttlMs);
  }

  /** Heartbeats: renews ours, sees who joined and who was lost. */
  private async refresh(): Promise<void> {
    if (this.closed) return;
    let listed: NodeInfo[];
    try {
      await this.announce();
      listed = await listNodes(this.redis);
    } catch {
      // Redis is away (a restart): nobody is taken for lost on what could not be read.
      return;
    }
    const now = new Map(listed.map((n) => [n.name, n]));
    for (const name of this.agents.keys()) if (!now.has(name) && !this.lost.has(name)) this.agentLost(name);
    for (const [name, n] of now) {
      // An agent back after it was taken for lost is a new member: its old workers are gone.
      const back = this.lost.delete(name);
      if (back) this.rejoined.add(name);
      if (back)
        this.o.onNodeEvent?.({ kind: 'joined', message: `Agent ${name} (${n.host}) rejoined the cluster.` });
      else if (!this.agents.has(name) && this.gateOpen)
        this.o.onNodeEvent?.({ kind: 'joined', message: `Agent ${name} (${n.host}) joined the cluster.` });
    }
    // A leaving flag seen from its hand-backs outlives the listing until the agent says otherwise.
    for (const [name, n] of now) if (this.agents.get(name)?.leaving) n.leaving = true;
    this.agents = now;
    const usable = [...now.keys()].filter((a) => this.usable(a)).length;
    if (!this.gateOpen && usable >= this.o.nodeCount) this.gateOpen = true;
    if (!this.gateOpen && Date.now() > this.o.joinDeadline) {
      const error = tooFewNodes(usable, this.o.nodeCount, this.o.address, this.o.joinDeadline);
      for (const w of this.waiting.splice(0))
        w.finish({ code: null, signal: null, reason: 'launch-failed', returnCode: 1, error });
      return;
    }
    for (const w of this.waiting.splice(0)) if (!w.isExited) this.place(w);
    this.reportSeats();
  }

  private agentLost(name: string): void {
    this.lost.add(name);
    const at = new Date().toISOString();
    const host = this.agents.get(name)?.host ?? '?';
    const reason = `agent ${name} (${host}) sent no heartbeat for ${this.ttlS} s and was taken for lost at ${at}`;
    for (const [nodeId, agent] of this.seats) {
      if (agent !== name) continue;
      this.seats.set(nodeId, null);
      // Said before its workers end: their replacements may take a spare agent at once.
      this.reportSeats();
      const mine = [...this.workers.values()].filter((w) => w.agent === name && !w.isExited);
      this.pools.get(nodeId)?.agentLost(
        reason,
        mine.map((w) => w.name),
      );
      for (const w of mine)
        w.finish({
          code: null,
          signal: 'SIGKILL',
          reason: 'killed',
          returnCode: -9,
          error: `its agent ${name} was lost at ${at}`,
        });
    }
  }

  private async readOutbox(): Promise<void> {
    let last = '0';
    while (!this.closed) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        reply = (await this.reader.xread(
          'COUNT',
          1000,
          'BLOCK',
          1000,
          'STREAMS',
          keys.sessionOutbox(this.o.session),
          last,
        )) as typeof reply;
      } catch {
        if (this.closed) return;
        await sleep(300);
        continue;
      }
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          last = id;
          const from = decode<FromAgent>(fields);
          if (from) this.fromAgent(from);
        }
      }
    }
  }

  private fromAgent(from: FromAgent): void {
    if (from.k === 'samples') return this.samplesFrom(from);
    const worker = this.workers.get(from.p);
    // A late message of a worker whose agent was taken for lost: its work was given to another.
    if (!worker || worker.agent === null || this.lost.has(worker.agent)) return;
    // An agent that hands a worker back is leaving: nothing more goes there, even before its heartbeat says so.
    if (from.k === 'msg' && from.m.t === 'results')
      for (const r of from.m.results) this.awaiting.get(from.p)?.delete(r.id);
    if (from.k === 'exit' && from.exit.handedBack) {
      const info = this.agents.get(worker.agent);
      if (info) info.leaving = true;
    }
    worker.deliver(from);
  }

  private samplesFrom(samples: AgentSamples): void {
    // A lost agent's late samples are of a node the seat no longer has.
    if (this.lost.has(samples.agent)) return;
    for (const [nodeId, agent] of this.seats)
      if (agent === samples.agent) this.sampleListeners.get(nodeId)?.(samples);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    await this.redis
      .del(keys.leader(this.o.session), keys.sessionOutbox(this.o.session), keys.data(this.o.session))
      .catch(() => undefined);
    await Promise.all(
      [...this.queues.values(), ...this.runQueues.values()].map((q) => q.close().catch(() => undefined)),
    );
    this.reader.disconnect();
    await this.redis.quit().catch(() => undefined);
  }
}

/** One mini-batch attempt as added to its worker's run queue (kept to add it again under its id). */
interface AttemptJob {
  name: 'run';
  data: RunAttempt;
  opts: {
    jobId: string;
    attempts: 1;
    removeOnComplete: { count: number };
    removeOnFail: { count: number };
  };
}

/** Settled attempts kept per worker queue (to inspect a run's), beyond which BullMQ drops the oldest. */
const ATTEMPTS_KEPT = 10_000;
const RECONCILE_MS = 2000;

function tooFewNodes(joined: number, count: number, address: ClusterAddress, deadline: number): string {
  return (
    `only ${joined} of the ${count} node(s) the job needs (node_count: ${count}) had joined the cluster at ${address.display} by ${new Date(deadline).toISOString()}; ` +
    'start more agents (prs agent --cluster URL), lower node_count, or wait longer (--cluster-wait SECONDS)'
  );
}

export function isAuthRefusal(err: Error): boolean {
  return /WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username-password/i.test(err.message);
}

/** The cluster cannot be used as given (refused credentials, no answer): a usage error of the command (exit 2), not a failed job. */
export class ClusterRefused extends Error {}

export function credentialsRefused(address: ClusterAddress, detail: string): string {
  return `--cluster: Redis at ${address.display} refused the credentials (${detail}); give the password as redis://:PASSWORD@host:port or redis://USER:PASSWORD@host:port`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `count` usable agents are in the cluster, saying who it waits for; returns those there by the deadline. */
export async function waitForNodes(
  address: ClusterAddress,
  count: number,
  deadline: number,
  say: (line: string) => void,
): Promise<NodeInfo[]> {
  const redis = new Redis(address.options);
  redis.on('error', () => undefined);
  let lastSaid = '';
  let nodes: NodeInfo[] = [];
  let reached = false;
  try {
    for (;;) {
      // A Redis that does not answer must not hold the command past its deadline.
      const listed = await Promise.race([listNodes(redis), sleep(2000).then(() => null)]).catch(
        (err: Error) => {
          // Waiting cannot mend a refused password: say so now.
          if (isAuthRefusal(err)) throw new ClusterRefused(credentialsRefused(address, err.message));
          return null;
        },
      );
      if (listed === null && lastSaid === '')
        say((lastSaid = `Cannot reach the cluster at ${address.display} yet; retrying.`));
      if (listed) {
        reached = true;
        nodes = listed.filter((n) => !n.leaving);
      }
      if (nodes.length >= count) return nodes.slice(0, count);
      const line = `Waiting for ${count} node(s) at ${address.display}: ${nodes.length} joined${nodes.length > 0 ? ` (${nodes.map((n) => n.name).join(', ')})` : ''}.`;
      if (line !== lastSaid && listed) say((lastSaid = line));
      if (Date.now() > deadline) {
        // No run can start on a cluster that never answered: nothing would ever place its workers.
        if (!reached)
          throw new ClusterRefused(
            `--cluster: no Redis answered at ${address.display} within --cluster-wait; check that it runs and that this machine can reach it`,
          );
        return nodes;
      }
      await sleep(250);
    }
  } finally {
    redis.disconnect();
  }
}
