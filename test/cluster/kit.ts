// Cluster test plumbing: a real redis-server of the test's own (free loopback port, own folder,
// AOF), real agents as `node bin/prs.js agent` child processes (useCluster starts both and stops them
// after each test), and a job whose output lines say which node ran each input, so exactly-once and
// placement can be read from the output file.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../src/engine/cluster/localRedis';
import { nodeJob, PRS, ROOT, tempDir } from '../helpers';
import { sleep, waitFor } from '../resume/kit';

export { sleep, waitFor };

/** Short heartbeats so a lost node is seen in seconds (the default is 15 s). */
export const CLUSTER_ENV = { PRS_CLUSTER_HEARTBEAT_TTL_S: '2' };

process.env.PRS_DATA_DIR ??= tempDir('prs-data-');
Object.assign(process.env, CLUSTER_ENV);

/**
 * A redis-server of the test's own. On a free port it picks (between freePort's probe and
 * redis-server's bind another process may take it, the more likely on a busy CI machine) it tries
 * again on another; a port given (a restart on the same AOF) is used as it is.
 */
export async function startRedis(dir = tempDir('prs-redis-'), port?: number): Promise<LocalRedis> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startLocalRedis(dir, port);
    } catch (err) {
      if (port !== undefined || attempt >= 5 || !/Address already in use/.test(String(err))) throw err;
    }
  }
}

export interface AgentProc {
  name: string;
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

/** More for an agent than its name and processes. */
export interface AgentOptions {
  env?: Record<string, string>;
  /** More `prs agent` arguments (`--work-dir DIR`). */
  args?: string[];
  /**
   * `mount` arguments run first in a mount namespace of the agent's own (`unshare --mount`): the agent
   * then sees other files at a path than the leader does (a tmpfs over the job, a bind over its script).
   */
  mount?: string[];
  /** A network namespace to run it in (`ip netns exec NS`): it reaches only what the namespace does. */
  netns?: string;
}

/** Why an agent cannot have a mount namespace of its own here (AgentOptions.mount), or null. */
export function cannotUnshare(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for a private mount namespace (unshare --mount)';
  try {
    execFileSync('unshare', ['--mount', '--propagation', 'private', 'true'], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `unshare --mount is not usable here: ${(err as Error).message.split('\n')[0]}`;
  }
}

/** An agent process, not yet joined. */
function spawnAgent(url: string, name: string, processes: number, options: AgentOptions): AgentProc {
  const agent = [PRS, 'agent', '--cluster', url, '--name', name, '--processes', String(processes)];
  const argv = [process.execPath, ...agent, '--gpus', 'none', ...(options.args ?? [])];
  const inNetns = options.netns ? ['ip', 'netns', 'exec', options.netns, ...argv] : argv;
  const quoted = (options.mount ?? []).map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  const unshare = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c'];
  const [command, ...args] = options.mount
    ? [...unshare, `mount ${quoted} && exec "$@"`, 'sh', ...inNetns]
    : inNetns;
  const child = spawn(command!, args, {
    cwd: ROOT,
    env: { ...process.env, ...CLUSTER_ENV, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, log: () => text, exited };
}

/** Resolves once the agent has joined (its first heartbeat is written). */
async function joined(agent: AgentProc): Promise<AgentProc> {
  const said = () => (/joined the cluster/.test(agent.log()) ? true : undefined);
  await waitFor(`agent ${agent.name} to join`, said, 30_000);
  return agent;
}

/**
 * The Redis servers and agents of a test file's tests, all stopped (SIGKILL) after each test:
 * `const cluster = useCluster();` at the top of the file, then `await cluster.redis()` and
 * `await cluster.agent(redis.url, 'n1')` in a test. An agent counts from its spawn, so one that never
 * joins is stopped too.
 */
export function useCluster() {
  const servers: LocalRedis[] = [];
  const agents: AgentProc[] = [];
  afterEach(async () => {
    await stopAll(agents.splice(0));
    for (const redis of servers.splice(0)) await redis.stop('SIGKILL');
  });
  const agent = (url: string, name: string, processes = 2, options: AgentOptions = {}) => {
    const started = spawnAgent(url, name, processes, options);
    agents.push(started);
    return joined(started);
  };
  return {
    /** A redis-server of the test's own (startRedis). */
    async redis(dir?: string, port?: number): Promise<LocalRedis> {
      const redis = await startRedis(dir, port);
      servers.push(redis);
      return redis;
    },
    /** A `prs agent` that has joined the cluster at `url` (startAgent). */
    agent,
    /** One agent per name, started side by side. */
    agents: (url: string, names: string[], processes = 2) =>
      Promise.all(names.map((name) => agent(url, name, processes))),
    /** An agent or a Redis the test started itself, stopped after it like the others. */
    adopt(started: AgentProc | LocalRedis): void {
      if ('child' in started) agents.push(started);
      else servers.push(started);
    },
  };
}

async function stopAll(agents: AgentProc[], redis?: LocalRedis): Promise<void> {
  for (const a of agents)
    if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
  await Promise.all(agents.map((a) => a.exited));
  await redis?.stop('SIGKILL');
}

export interface ClusterJob {
  dir: string;
  spec: string;
  runsDir: string;
  /** One file per mini-batch start: `<node>-<pid>-<batch file>`, to wait for progress on a node. */
  marksDir: string;
  /** What `holdFrom` inputs wait for (or `<goFile>.<agent>`, on that agent only). */
  goFile: string;
  files: number;
}

/**
 * A Node job of `files` inputs, one per mini-batch; each output line is `<input> <node>`.
 * `delayMs` paces run() so a test can act while mini-batches are in flight.
 * `barrier`: no mini-batch goes on past its mark until every worker of the job (nodeCount ×
 * processes) has begun one, so each worker, and so each node, runs one however late it started.
 * `holdFrom`: inputs numbered from it on wait, after their mark, for `goFile` or, on one agent
 * only, `<goFile>.<agent name>` (made by the test).
 * Both waits end after 50 s at most, within the 60 s run_invocation_timeout.
 */
export function clusterJob(opts: {
  files: number;
  delayMs: number;
  nodeCount: number;
  processes?: number;
  spec?: Record<string, unknown>;
  barrier?: boolean;
  holdFrom?: number;
}): ClusterJob {
  const dir = tempDir('prs-cluster-job-');
  const marksDir = path.join(dir, 'marks');
  const goFile = path.join(dir, 'go');
  const workers = opts.barrier ? opts.nodeCount * (opts.processes ?? 2) : 0;
  const script = `
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
const marks = ${JSON.stringify(marksDir)};
mkdirSync(marks, { recursive: true });
const workers = () => new Set(readdirSync(marks).map((m) => m.split('-').slice(0, -1).join('-'))).size;
export async function run(batch) {
  const node = process.env.PRS_AGENT_NAME ?? 'local';
  for (const f of batch) writeFileSync(path.join(marks, node + '-' + process.pid + '-' + path.basename(f)), '');
  const until = Date.now() + 50000;
  while (workers() < ${workers} && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const held = ${opts.holdFrom ?? -1} >= 0 && batch.some((f) => Number(path.basename(f).replace(/\\D/g, '')) >= ${opts.holdFrom ?? -1});
  const go = ${JSON.stringify(goFile)};
  while (held && !existsSync(go) && !existsSync(go + '.' + node) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, ${opts.delayMs}));
  return batch.map((f) => path.basename(f) + ' ' + node);
}
`;
  const spec = nodeJob(dir, {
    script,
    files: opts.files,
    name: 'cluster-job',
    spec: {
      mini_batch_size: 1,
      node_count: opts.nodeCount,
      process_count_per_node: opts.processes ?? 2,
      run_invocation_timeout: 60,
      ...opts.spec,
    },
  });
  return { dir, spec, runsDir: path.join(dir, 'runs'), marksDir, goFile, files: opts.files };
}

/** Mini-batches started on `node` so far. */
export function marksOn(job: ClusterJob, node: string): number {
  if (!existsSync(job.marksDir)) return 0;
  return readdirSync(job.marksDir).filter((f) => f.startsWith(node + '-')).length;
}

/** The output file's lines by input: every input once, and which node its line came from. */
export function readOutput(file: string): {
  inputs: string[];
  duplicates: string[];
  nodes: Map<string, number>;
} {
  const seen = new Set<string>();
  const duplicates: string[] = [];
  const nodes = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const [input, node] = line.split(' ');
    if (seen.has(input!)) duplicates.push(input!);
    seen.add(input!);
    nodes.set(node!, (nodes.get(node!) ?? 0) + 1);
  }
  return { inputs: [...seen].sort(), duplicates, nodes };
}

export function expectedInputs(files: number): string[] {
  return Array.from({ length: files }, (_, i) => `f${String(i).padStart(4, '0')}.txt`).sort();
}
