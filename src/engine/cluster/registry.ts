// Which agents are in a cluster: each keeps a key of its own alive with a TTL (its heartbeat).
// A key that expired means the node is lost; nothing else is needed to agree on membership.

import { Redis } from 'ioredis';
import type { ClusterAddress } from './redisUrl';
import { keys } from './settings';

export interface NodeInfo {
  name: string;
  host: string;
  /** Worker processes it runs at most (--processes). */
  processes: number;
  gpus: number[];
  pid: number;
  startedAt: number;
  /** Epoch ms of its last heartbeat. */
  beatAt: number;
  /** Ctrl-C: it finishes what it runs and takes no new workers. */
  leaving?: boolean;
  /** Worker processes it runs now. */
  running: number;
}

export async function listNodes(redis: Redis): Promise<NodeInfo[]> {
  const names: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', keys.nodePattern, 'COUNT', 200);
    cursor = next;
    names.push(...found);
  } while (cursor !== '0');
  if (names.length === 0) return [];
  const values = await redis.mget(...names);
  const nodes: NodeInfo[] = [];
  for (const value of values) {
    if (!value) continue;
    try {
      nodes.push(JSON.parse(value) as NodeInfo);
    } catch {
      // A key of another version or a hand-made one: not a node we can use.
    }
  }
  return nodes.sort((a, b) => a.startedAt - b.startedAt || a.name.localeCompare(b.name));
}

/**
 * Renews a node's heartbeat. Returns false when the key had expired: the cluster took the node
 * for lost (its work moved on), and it joins again as a new member.
 */
export async function beat(redis: Redis, info: NodeInfo, ttlS: number, first: boolean): Promise<boolean> {
  const value = JSON.stringify({ ...info, beatAt: Date.now() });
  const ms = Math.round(ttlS * 1000);
  if (first) {
    await redis.set(keys.node(info.name), value, 'PX', ms);
    return true;
  }
  const renewed = await redis.set(keys.node(info.name), value, 'PX', ms, 'XX');
  if (renewed === 'OK') return true;
  await redis.set(keys.node(info.name), value, 'PX', ms);
  return false;
}

export function formatNodes(nodes: NodeInfo[], now = Date.now()): string {
  if (nodes.length === 0) return 'No node is in this cluster (start one with prs agent --cluster URL).';
  const rows = [['NAME', 'HOST', 'PROCESSES', 'RUNNING', 'GPUS', 'LAST BEAT', 'STATE']];
  for (const n of nodes)
    rows.push([
      n.name,
      n.host,
      String(n.processes),
      String(n.running),
      n.gpus.length > 0 ? n.gpus.join(',') : 'none',
      `${((now - n.beatAt) / 1000).toFixed(1)} s ago`,
      n.leaving ? 'leaving' : 'ready',
    ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** One look at a cluster (prs cluster status): fails rather than waits when Redis does not answer. */
export async function readNodes(address: ClusterAddress): Promise<NodeInfo[]> {
  const redis = new Redis({
    ...address.options,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    connectTimeout: 5000,
  });
  redis.on('error', () => undefined);
  try {
    return await listNodes(redis);
  } finally {
    redis.disconnect();
  }
}
