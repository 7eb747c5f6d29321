// `prs run|resume --cluster URL`: what a run needs to put its nodes on the cluster's agents. The
// leader stays here; each of its node ids is filled by an agent (see clusterNodes.ts).

import { randomBytes } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { CLUSTER_WAIT_S } from '../../common/api';
import type { JobSpec } from '../../common/spec';
import { logTime, runPaths } from '../logTree';
import { ClusterNodes, ClusterRefused, waitForNodes, type NodeEvent } from './clusterNodes';
import { DataEndpoint } from './dataEndpoint';
import { bundleOf } from './manifest';
import type { NodeInfo } from './registry';
import { parseRedisUrl, type ClusterAddress } from './redisUrl';

export interface ClusterRun {
  nodes: ClusterNodes;
  agents: NodeInfo[];
  /** Where the cluster's events go (master_role.txt), once the run folder is known. */
  setRunDir(runDir: string): void;
  close(): Promise<void>;
}

/** `--data-bind`'s fallback: where the leader's data endpoint listens. */
export const DATA_BIND_ENV = 'PRS_DATA_BIND';

export async function joinCluster(
  url: string,
  spec: JobSpec,
  {
    waitS = CLUSTER_WAIT_S,
    dataBind = process.env[DATA_BIND_ENV] || undefined,
    say,
  }: { waitS?: number; dataBind?: string; say: (line: string) => void },
): Promise<ClusterRun> {
  const address = parseRedisUrl(url);
  const deadline = Date.now() + waitS * 1000;
  const agents = await waitForNodes(address, spec.node_count, deadline, say);
  if (agents.length >= spec.node_count)
    say(`Agents: ${agents.map((n) => `${n.name} (${n.host}, ${n.processes} process(es))`).join(', ')}.`);
  // auto: what the smallest agent runs, so every node id has as many workers wherever it lands.
  const capacity =
    spec.process_count_per_node !== 'auto'
      ? spec.process_count_per_node
      : agents.length > 0
        ? Math.max(1, Math.min(...agents.map((n) => n.processes)))
        : 1;

  let masterRole: string | null = null;
  let dataLog: string | null = null;
  const early: string[] = [];
  const earlyData: string[] = [];
  const write = (line: string) => {
    if (masterRole) void appendFile(masterRole, line).catch(() => undefined);
    else early.push(line);
  };
  const writeData = (line: string) => {
    const text = `${logTime()} ${line}\n`;
    if (dataLog) void appendFile(dataLog, text).catch(() => undefined);
    else earlyData.push(text);
  };
  const endpoint = await startDataEndpoint(address, dataBind, writeData);
  const bundle = await bundleOf(spec).catch(async (err: Error) => {
    await endpoint.close();
    throw new ClusterRefused(`--cluster: cannot declare the job's files for the agents: ${err.message}`);
  });
  endpoint.declareBundle(bundle);
  const files = bundle.roots.reduce((n, r) => n + r.files.length, 0);
  say(
    `Data endpoint for agents without the job's files: ${endpoint.url} (${files} file(s) declared; token passed through Redis).`,
  );
  write(
    `${logTime()} INFO Data endpoint for agents without the job's files: ${endpoint.url} (${files} file(s) declared).\n`,
  );
  // A lost agent is the leader's to log (the node's pool says it); the rest is the cluster's.
  const onNodeEvent = (e: NodeEvent) => {
    write(`${logTime()} INFO ${e.message}\n`);
    if (e.kind === 'joined') say(e.message);
  };
  const session = `${spec.name}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const nodes = new ClusterNodes({
    address,
    session,
    nodeCount: spec.node_count,
    capacity,
    runInvocationTimeoutS: spec.run_invocation_timeout,
    joinDeadline: deadline,
    resourceMonitorIntervalS: spec.resource_monitor_interval,
    onNodeEvent,
    data: { endpoint, bundle },
  });
  try {
    await nodes.start();
  } catch (err) {
    await endpoint.close();
    throw err;
  }
  return {
    nodes,
    agents,
    setRunDir(runDir) {
      masterRole = runPaths(runDir).masterRole;
      dataLog = path.join(path.dirname(masterRole), 'data_endpoint.txt');
      endpoint.setRunDir(runDir);
      for (const line of early.splice(0)) write(line);
      for (const text of earlyData.splice(0)) void appendFile(dataLog, text).catch(() => undefined);
    },
    close: async () => {
      await nodes.close();
      await endpoint.close();
    },
  };
}

/**
 * HOST[:PORT]; by default the address this machine reaches Redis from, which the agents can reach
 * too. A wildcard (0.0.0.0, ::) only when the user says so; agents are then told that address.
 */
async function startDataEndpoint(
  address: ClusterAddress,
  bind: string | undefined,
  log: (line: string) => void,
): Promise<DataEndpoint> {
  const toRedis = await localAddressTo(address);
  let host = toRedis;
  let port: number | undefined;
  if (bind !== undefined) {
    const parsed = parseBind(bind);
    if (!parsed) throw new ClusterRefused(dataBindProblem(bind));
    ({ host, port } = parsed);
  }
  const wildcard = host === '0.0.0.0' || host === '::';
  const endpoint = new DataEndpoint({ host, port, advertise: wildcard ? toRedis : host, log });
  try {
    await endpoint.start();
  } catch (err) {
    throw new ClusterRefused(
      `--data-bind: the data endpoint cannot listen on ${host}:${port ?? 0} (${(err as Error).message})`,
    );
  }
  return endpoint;
}

export function dataBindProblem(bind: string): string {
  return `--data-bind: "${bind}" is not HOST[:PORT] (expected e.g. 10.0.0.5:8790, [::1]:0 or 0.0.0.0)`;
}

/** HOST, HOST:PORT, [IPv6]:PORT or a bare IPv6 address; null when it is none of them. */
export function parseBind(text: string): { host: string; port?: number } | null {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([A-Za-z0-9][A-Za-z0-9.-]*)(?::(\d+))?$/.exec(text);
  const host = m ? m[1]! : text.split(':').length > 2 && /^[0-9a-fA-F:.]+$/.test(text) ? text : null;
  if (!host) return null;
  if (m?.[2] === undefined) return { host };
  const port = Number(m[2]);
  return port < 65536 ? { host, port } : null;
}

/** The local address of a connection to Redis: an address of this machine on the agents' network. */
function localAddressTo(address: ClusterAddress): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: address.options.host ?? '127.0.0.1',
      port: address.options.port ?? 6379,
    });
    socket.setTimeout(10_000);
    socket.once('connect', () => {
      const local = socket.localAddress ?? '127.0.0.1';
      socket.destroy();
      resolve(local.replace(/^::ffff:/, ''));
    });
    socket.once('timeout', () => socket.destroy(new Error('no answer within 10 s')));
    socket.once('error', (err) =>
      reject(new ClusterRefused(`--cluster: cannot reach Redis at ${address.display} (${err.message})`)),
    );
  });
}
