// `prs agent` and `prs cluster up|status`: a machine joins a cluster; a cluster to try on one machine;
// who is in a cluster.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from './usageError';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function address(url: string | undefined, command: string) {
  if (url === undefined) throw new UsageError(`${command} needs --cluster redis://[user:pass@]host:port`);
  return import('../engine/cluster/redisUrl').then(({ parseRedisUrl }) => {
    try {
      return parseRedisUrl(url);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  });
}

function whole(text: string, option: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${option}: "${text}" is not a whole number above 0`);
  return n;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export async function agentCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      cluster: { type: 'string' },
      name: { type: 'string' },
      processes: { type: 'string' },
      gpus: { type: 'string' },
      'work-dir': { type: 'string' },
    },
    strict: true,
  });
  const where = await address(values.cluster, 'prs agent');
  const name = values.name ?? `${os.hostname()}-${process.pid}`;
  if (!NAME.test(name))
    throw new UsageError(
      `--name: "${name}" is not a node name (expected letters, digits, . _ -, at most 63)`,
    );
  const gpuText = values.gpus ?? 'auto';
  let gpuSpec: 'auto' | 'none' | number[];
  if (gpuText === 'auto' || gpuText === 'none') gpuSpec = gpuText;
  else {
    gpuSpec = gpuText.split(',').map((g) => Number(g.trim()));
    if (gpuSpec.some((g) => !Number.isInteger(g) || g < 0))
      throw new UsageError(`--gpus: "${gpuText}" is not auto, none or a list of GPU indexes such as 0,1`);
  }
  const { detectDevices, resolveProcessCount, schedulerGpus } = await import('../engine/devices');
  const devices = await detectDevices(process.env, { skipGpus: gpuSpec === 'none' });
  const { gpus, problems } = schedulerGpus(devices, gpuSpec);
  if (problems.length > 0)
    throw new UsageError(`--gpus: ${problems.map((p) => p.replace(/^gpus\.\d+: /, '')).join('; ')}`);
  const processes =
    values.processes === undefined || values.processes === 'auto'
      ? resolveProcessCount('auto', devices, gpus)
      : whole(values.processes, '--processes');
  const { Agent } = await import('../engine/cluster/agent');
  const { ClusterRefused } = await import('../engine/cluster/clusterNodes');
  const workDir = values['work-dir'] === undefined ? undefined : path.resolve(values['work-dir']);
  const agent = new Agent({ address: where, name, processes, gpus, workDir });
  try {
    await agent.start();
  } catch (err) {
    if (err instanceof ClusterRefused) throw new UsageError(err.message);
    throw err;
  }
  await untilSignal();
  process.stderr.write(`Agent ${name}: leaving (Ctrl-C again quits at once).\n`);
  process.once('SIGINT', () => process.exit(130));
  await agent.stop();
  return 0;
}

export async function clusterCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'status') return clusterStatus(rest);
  if (sub === 'up') return clusterUp(rest);
  throw new UsageError(`prs cluster ${sub ?? ''}: expected "up" or "status"`);
}

async function clusterStatus(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { cluster: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
  });
  const where = await address(values.cluster, 'prs cluster status');
  const { readNodes, formatNodes } = await import('../engine/cluster/registry');
  try {
    const nodes = await readNodes(where);
    process.stdout.write((values.json ? JSON.stringify(nodes) : formatNodes(nodes)) + '\n');
    return 0;
  } catch (err) {
    const { credentialsRefused, isAuthRefusal } = await import('../engine/cluster/clusterNodes');
    const e = err as Error;
    throw new UsageError(
      isAuthRefusal(e)
        ? credentialsRefused(where, e.message)
        : `--cluster: no Redis answered at ${where.display} (${e.message}); check that it runs and that this machine can reach it`,
    );
  }
}

async function clusterUp(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      nodes: { type: 'string' },
      dir: { type: 'string' },
      processes: { type: 'string' },
      port: { type: 'string' },
    },
    strict: true,
  });
  if (values.nodes === undefined) throw new UsageError('prs cluster up needs --nodes N');
  const count = whole(values.nodes, '--nodes');
  const port = values.port === undefined ? undefined : whole(values.port, '--port');
  const dir = values.dir ? path.resolve(values.dir) : mkdtempSync(path.join(os.tmpdir(), 'prs-cluster-'));
  const { startLocalRedis } = await import('../engine/cluster/localRedis');
  const redis = await startLocalRedis(path.join(dir, 'redis'), port);
  const agents: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    // Each agent's cache of fetched files in the cluster's folder: it goes with the folder, and two
    // clusters up on one machine (both with a node-0) do not share one.
    const name = `node-${i}`;
    const agentArgs = [process.argv[1]!, 'agent', '--cluster', redis.url, '--name', name];
    agentArgs.push('--work-dir', path.join(dir, 'agents', name));
    if (values.processes) agentArgs.push('--processes', values.processes);
    agents.push(spawn(process.execPath, agentArgs, { stdio: ['ignore', 'inherit', 'inherit'] }));
  }
  process.stdout.write(
    `Cluster up: Redis at ${redis.url} (folder ${dir}), ${count} agent(s) node-0..node-${count - 1}.\n` +
      `Run a job on it: prs run job.yaml --cluster ${redis.url}\nCtrl-C stops the agents and Redis.\n`,
  );
  await untilSignal();
  const exits = agents.map((a) => new Promise((r) => (a.exitCode !== null ? r(null) : a.once('exit', r))));
  for (const a of agents) a.kill('SIGINT');
  await Promise.all(exits);
  await redis.stop();
  return 0;
}
