// The leader's side of a cluster: a WorkerLauncher whose workers run on agents. The leader keeps
// every rule it has on one machine (queues, timeouts, retries, the journal as the only truth);
// each worker it starts is placed on the least busy live agent through that agent's BullMQ queue,
// and its messages and output come back on the run session's stream. A node whose heartbeat
// expires is lost: its workers end as killed, so the leader retries their mini-batches elsewhere,
// and anything they send later is dropped with them.

import { PassThrough } from 'node:stream';
import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { LeaderMessage, WorkerMessage } from '../../common/protocol';
import type { ExitInfo, LaunchOptions, WorkerLauncher, WorkerProcess } from '../launcher';
import { listNodes, type NodeInfo } from './registry';
import type { ClusterAddress } from './redisUrl';
import { heartbeatTtlS, keys, PREFIX, STREAM_MAXLEN } from './settings';
import { decode, encode, startJobId, type FromAgent, type StartWorker, type ToAgent } from './wire';

export interface NodeEvent {
  node: string;
  kind: 'joined' | 'lost' | 'placed';
  message: string;
}

export class RemoteWorker implements WorkerProcess {
  readonly pid = undefined;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  node: string | null = null;
  private exited = false;
  private readonly messageListeners: Array<(m: WorkerMessage) => void> = [];
  private readonly exitListeners: Array<(e: ExitInfo) => void> = [];
  /** Sent before a node was chosen: delivered once it is. */
  readonly unsent: LeaderMessage[] = [];

  constructor(
    readonly name: string,
    readonly options: LaunchOptions,
    private readonly launcher: RemoteLauncher,
  ) {}

  get isExited(): boolean {
    return this.exited;
  }

  send(message: LeaderMessage): void {
    if (this.exited) return;
    if (this.node === null) this.unsent.push(message);
    else this.launcher.toAgent(this.node, { s: this.launcher.session, p: this.name, m: message });
  }

  onMessage(listener: (m: WorkerMessage) => void): void {
    this.messageListeners.push(listener);
  }

  onExit(listener: (e: ExitInfo) => void): void {
    this.exitListeners.push(listener);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.exited) return;
    if (this.node === null) this.finish({ code: null, signal, reason: 'killed', returnCode: -9 });
    else this.launcher.toAgent(this.node, { s: this.launcher.session, p: this.name, kill: signal });
  }

  deliver(from: FromAgent): void {
    if (this.exited) return;
    switch (from.k) {
      case 'msg':
        for (const l of this.messageListeners) l(from.m);
        break;
      case 'out':
        this.stdout.write(from.text);
        break;
      case 'err':
        this.stderr.write(from.text);
        break;
      case 'exit':
        this.finish(from.exit);
        break;
      case 'started':
        break;
    }
  }

  finish(exit: ExitInfo): void {
    if (this.exited) return;
    this.exited = true;
    this.stdout.end();
    this.stderr.end();
    for (const l of this.exitListeners) l(exit);
  }
}

export interface RemoteLauncherOptions {
  address: ClusterAddress;
  /** Unique per leader start (a resume is a new session of the same run). */
  session: string;
  /** Said in master_role.txt by the caller: which node got a worker, which was lost. */
  onNodeEvent?: (event: NodeEvent) => void;
  /** node_count: no worker starts before this many nodes are live, and they run on at most this many. */
  nodeCount: number;
  /** When the nodes must have joined by (epoch ms): then the waiting workers fail to launch, which fails the job. */
  joinDeadline: number;
}

export class RemoteLauncher implements WorkerLauncher {
  readonly session: string;
  private readonly redis: Redis;
  private readonly reader: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Map<string, RemoteWorker>();
  private nodes = new Map<string, NodeInfo>();
  private readonly lost = new Set<string>();
  private readonly waiting: RemoteWorker[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Open once node_count nodes were live together. */
  private gateOpen = false;
  private readonly ttlS = heartbeatTtlS();

  constructor(private readonly o: RemoteLauncherOptions) {
    this.session = o.session;
    this.redis = new Redis(o.address.options);
    this.reader = new Redis(o.address.options);
    for (const r of [this.redis, this.reader]) r.on('error', () => undefined);
  }

  /** Announces the leader (agents stop the workers of a leader that is gone) and starts watching. */
  async start(): Promise<void> {
    await this.redis.set(keys.leader(this.session), String(process.pid), 'PX', Math.round(this.ttlS * 1000));
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), (this.ttlS * 1000) / 3);
    void this.readOutbox();
  }

  launch(options: LaunchOptions): WorkerProcess {
    const worker = new RemoteWorker(options.name, options, this);
    this.workers.set(options.name, worker);
    worker.onExit(() => this.workers.delete(options.name));
    this.place(worker);
    return worker;
  }

  /** On the live agent with the fewest of our workers for its size; waits for one if none is live. */
  private place(worker: RemoteWorker): void {
    const live = [...this.nodes.values()].filter((n) => !n.leaving && !this.lost.has(n.name));
    const used = new Set(
      [...this.workers.values()].filter((w) => !w.isExited && w.node !== null).map((w) => w.node!),
    );
    // node_count nodes at a time: a node beyond them gets work only once one of them is gone.
    const inUse = live.filter((n) => used.has(n.name));
    const candidates = inUse.length >= this.o.nodeCount ? inUse : live;
    if (!this.gateOpen || candidates.length === 0) {
      this.waiting.push(worker);
      return;
    }
    const load = (n: NodeInfo) =>
      [...this.workers.values()].filter((w) => w.node === n.name && !w.isExited).length /
      Math.max(1, n.processes);
    const node = candidates.sort((a, b) => load(a) - load(b) || a.startedAt - b.startedAt)[0]!;
    worker.node = node.name;
    const job: StartWorker = {
      session: this.session,
      process: worker.name,
      env: worker.options.env,
      cwd: worker.options.cwd,
      config: worker.options.config,
    };
    void this.queue(node.name)
      .add('start', job, {
        jobId: startJobId(this.session, worker.name),
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
          error: `could not queue the worker on ${node.name}: ${err.message}`,
        }),
      );
    for (const m of worker.unsent.splice(0)) worker.send(m);
    this.o.onNodeEvent?.({
      node: node.name,
      kind: 'placed',
      message: `${worker.name} runs on node ${node.name} (${node.host}).`,
    });
  }

  private queue(node: string): Queue {
    let q = this.queues.get(node);
    if (!q) {
      q = new Queue(keys.agentQueue(node), {
        connection: this.o.address.options as ConnectionOptions,
        prefix: PREFIX,
      });
      q.on('error', () => undefined);
      this.queues.set(node, q);
    }
    return q;
  }

  toAgent(node: string, message: ToAgent): void {
    void this.redis
      .xadd(keys.agentInbox(node), 'MAXLEN', '~', STREAM_MAXLEN, '*', ...encode(message))
      .catch(() => undefined);
  }

  /** Heartbeats: renews ours, sees who joined and who was lost. */
  private async refresh(): Promise<void> {
    if (this.closed) return;
    let listed: NodeInfo[];
    try {
      await this.redis.set(
        keys.leader(this.session),
        String(process.pid),
        'PX',
        Math.round(this.ttlS * 1000),
      );
      listed = await listNodes(this.redis);
    } catch {
      // Redis is away (a restart): nobody is taken for lost on what we could not read.
      return;
    }
    const now = new Map(listed.map((n) => [n.name, n]));
    for (const [name] of this.nodes) {
      if (!now.has(name) && !this.lost.has(name)) this.nodeLost(name);
    }
    for (const [name, n] of now) {
      const known = this.nodes.has(name);
      if (!known || this.lost.has(name)) {
        // A node that comes back after it was taken for lost is a new member: its old workers are gone.
        if (this.lost.delete(name))
          this.o.onNodeEvent?.({
            node: name,
            kind: 'joined',
            message: `Node ${name} (${n.host}) rejoined the cluster.`,
          });
        else if (this.nodes.size > 0)
          this.o.onNodeEvent?.({
            node: name,
            kind: 'joined',
            message: `Node ${name} (${n.host}) joined the cluster.`,
          });
      }
    }
    this.nodes = now;
    const usable = listed.filter((n) => !n.leaving && !this.lost.has(n.name)).length;
    if (!this.gateOpen && usable >= this.o.nodeCount) this.gateOpen = true;
    if (!this.gateOpen && Date.now() > this.o.joinDeadline) {
      const error = tooFewNodes(usable, this.o.nodeCount, this.o.address, this.o.joinDeadline);
      for (const w of this.waiting.splice(0))
        w.finish({ code: null, signal: null, reason: 'launch-failed', returnCode: 1, error });
      return;
    }
    for (const w of this.waiting.splice(0)) if (!w.isExited) this.place(w);
  }

  private nodeLost(name: string): void {
    this.lost.add(name);
    const at = new Date().toISOString();
    const mine = [...this.workers.values()].filter((w) => w.node === name && !w.isExited);
    this.o.onNodeEvent?.({
      node: name,
      kind: 'lost',
      message: `Node ${name} was lost at ${at} (no heartbeat for ${this.ttlS} s); its ${mine.length} worker(s) end and their mini-batches run elsewhere.`,
    });
    for (const w of mine)
      w.finish({
        code: null,
        signal: 'SIGKILL',
        reason: 'killed',
        returnCode: -9,
        error: `node ${name} was lost at ${at}`,
      });
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
          keys.sessionOutbox(this.session),
          last,
        )) as typeof reply;
      } catch {
        if (this.closed) return;
        await new Promise((r) => setTimeout(r, 300));
        continue;
      }
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          last = id;
          const from = decode<FromAgent>(fields);
          if (!from) continue;
          const worker = this.workers.get(from.p);
          // A late message of a worker on a node taken for lost: its work was given to another.
          if (!worker || (worker.node !== null && this.lost.has(worker.node))) continue;
          // A node that hands a worker back is leaving: place nothing more there, even before its heartbeat says so.
          if (from.k === 'exit' && from.exit.handedBack && worker.node) {
            const node = this.nodes.get(worker.node);
            if (node) node.leaving = true;
          }
          worker.deliver(from);
        }
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.redis.del(keys.leader(this.session), keys.sessionOutbox(this.session)).catch(() => undefined);
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    this.reader.disconnect();
    await this.redis.quit().catch(() => undefined);
  }
}

function tooFewNodes(joined: number, count: number, address: ClusterAddress, deadline: number): string {
  return (
    `only ${joined} of the ${count} node(s) the job needs (node_count: ${count}) had joined the cluster at ${address.display} by ${new Date(deadline).toISOString()}; ` +
    'start more agents (prs agent --cluster URL), lower node_count, or wait longer (--cluster-wait SECONDS)'
  );
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `count` usable nodes are in the cluster, saying who it waits for; returns those there by the deadline. */
export async function waitForNodes(
  address: ClusterAddress,
  count: number,
  deadline: number,
  say: (line: string) => void,
): Promise<NodeInfo[]> {
  const redis = new Redis({ ...address.options, lazyConnect: false });
  redis.on('error', () => undefined);
  let lastSaid = '';
  let nodes: NodeInfo[] = [];
  try {
    for (;;) {
      // A Redis that does not answer must not hold the command past its deadline.
      const listed = await Promise.race([listNodes(redis), sleep(2000).then(() => null)]).catch(() => null);
      if (listed === null && lastSaid === '')
        say((lastSaid = `Cannot reach the cluster at ${address.display} yet; retrying.`));
      if (listed) nodes = listed.filter((n) => !n.leaving);
      if (nodes.length >= count) return nodes.slice(0, count);
      const line = `Waiting for ${count} node(s) at ${address.display}: ${nodes.length} joined${nodes.length > 0 ? ` (${nodes.map((n) => n.name).join(', ')})` : ''}.`;
      if (line !== lastSaid && listed) say((lastSaid = line));
      if (Date.now() > deadline) return nodes;
      await sleep(250);
    }
  } finally {
    redis.disconnect();
  }
}
