// `prs run|resume --cluster URL`: what a run needs to put its nodes on the cluster's agents. The
// leader stays here; each of its node ids is filled by an agent (see clusterNodes.ts).

import { randomBytes } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import type { JobSpec } from '../../common/spec';
import { logTime, runPaths } from '../logTree';
import { ClusterNodes, waitForNodes, type NodeEvent } from './clusterNodes';
import type { NodeInfo } from './registry';
import { parseRedisUrl } from './redisUrl';

export interface ClusterRun {
  nodes: ClusterNodes;
  agents: NodeInfo[];
  /** Where the cluster's events go (master_role.txt), once the run folder is known. */
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
  const early: string[] = [];
  const write = (line: string) => {
    if (masterRole) void appendFile(masterRole, line).catch(() => undefined);
    else early.push(line);
  };
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
  });
  await nodes.start();
  return {
    nodes,
    agents,
    setRunDir(runDir) {
      masterRole = runPaths(runDir).masterRole;
      for (const line of early.splice(0)) write(line);
    },
    close: () => nodes.close(),
  };
}
