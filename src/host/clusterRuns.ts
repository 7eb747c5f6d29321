// The app's runs on a cluster: what `prs run --cluster` and `prs cluster status` do, for the host.
// The URL is a run option, never part of the spec file, and only its masked form is ever shown.
// Loaded only when asked, so a host that never uses a cluster never loads the Redis clients.

import type { ClusterStatus } from '../common/api';
import type { JobSpec } from '../common/spec';
import type { ClusterRun } from '../engine/cluster/attach';

/** The run's nodes on the cluster's agents, once node_count of them joined (or a refusal naming the key). */
export async function joinClusterForRun(url: string, spec: JobSpec): Promise<ClusterRun> {
  const { parseRedisUrl } = await import('../engine/cluster/redisUrl');
  const { joinCluster } = await import('../engine/cluster/attach');
  checked(parseRedisUrl, url);
  // The CLI prints who it waits for; the app shows the nodes once the run started.
  return checked(() => joinCluster(url, spec, { say: () => undefined }), url);
}

export async function clusterStatus(url: string): Promise<ClusterStatus> {
  const { parseRedisUrl } = await import('../engine/cluster/redisUrl');
  const { readNodes } = await import('../engine/cluster/registry');
  const address = checked(parseRedisUrl, url);
  try {
    const nodes = await readNodes(address);
    return {
      url: address.display,
      nodes: nodes.map(({ name, host, processes, gpus, beatAt, running, leaving }) => ({
        name,
        host,
        processes,
        gpus,
        beatAt,
        running,
        ...(leaving ? { leaving } : {}),
      })),
    };
  } catch (err) {
    throw new Error(`cluster: no answer from Redis at ${address.display} (${(err as Error).message})`);
  }
}

/** parseRedisUrl's messages name --cluster (the CLI's option); the app's key is `cluster`. */
function checked<T>(parse: (url: string) => T, url: string): T {
  const named = (err: unknown) => new Error((err as Error).message.replace(/^--cluster:/, 'cluster:'));
  try {
    const value = parse(url);
    return value instanceof Promise ? (value.catch((err) => Promise.reject(named(err))) as T) : value;
  } catch (err) {
    throw named(err);
  }
}
