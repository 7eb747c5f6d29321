// `prs run|resume --cluster URL`: what a run needs to put its workers on the cluster's agents.
// The leader stays here and unchanged; it gets a launcher that places workers on nodes, and the
// number of workers those nodes hold.

import { appendFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { JobSpec } from '../../common/spec';
import { logTime, runPaths } from '../logTree';
import type { NodeInfo } from './registry';
import { parseRedisUrl } from './redisUrl';
import { RemoteLauncher, waitForNodes, type NodeEvent } from './remoteLauncher';

export interface ClusterRun {
  launcher: RemoteLauncher;
  processCount: number;
  nodes: NodeInfo[];
  /** Where the node events go (master_role.txt), once the run folder is known. */
  setRunDir(runDir: string): void;
  close(): Promise<void>;
}

export const DEFAULT_CLUSTER_WAIT_S = 60;

export async function joinCluster(
  url: string,
  spec: JobSpec,
  { waitS = DEFAULT_CLUSTER_WAIT_S, say }: { waitS?: number; say: (line: string) => void },
): Promise<ClusterRun> {
  const address = parseRedisUrl(url);
  const deadline = Date.now() + waitS * 1000;
  const nodes = await waitForNodes(address, spec.node_count, deadline, say);
  if (nodes.length >= spec.node_count)
    say(`Nodes: ${nodes.map((n) => `${n.name} (${n.host}, ${n.processes} process(es))`).join(', ')}.`);
  const perNode = (n: NodeInfo) =>
    spec.process_count_per_node === 'auto' ? n.processes : spec.process_count_per_node;
  // Too few nodes: the run still starts (so its folder says why it failed), sized as if they were there.
  const fallback = spec.process_count_per_node === 'auto' ? 1 : spec.process_count_per_node;
  const processCount =
    nodes.length >= spec.node_count
      ? nodes.reduce((sum, n) => sum + perNode(n), 0)
      : spec.node_count * fallback;

  let masterRole: string | null = null;
  const early: string[] = [];
  const write = (line: string) => {
    if (masterRole) void appendFile(masterRole, line).catch(() => undefined);
    else early.push(line);
  };
  const onNodeEvent = (e: NodeEvent) => {
    const level = e.kind === 'lost' ? 'WARNING' : 'INFO';
    write(`${logTime()} ${level} ${e.message}\n`);
    if (e.kind !== 'placed') say(e.message);
  };
  const session = `${spec.name}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const launcher = new RemoteLauncher({
    address,
    session,
    onNodeEvent,
    nodeCount: spec.node_count,
    joinDeadline: deadline,
  });
  await launcher.start();
  return {
    launcher,
    processCount,
    nodes,
    setRunDir(runDir) {
      masterRole = runPaths(runDir).masterRole;
      for (const line of early.splice(0)) write(line);
    },
    close: () => launcher.close(),
  };
}
