// --cluster, --cluster-wait and --data-bind of `prs run` and `prs resume`: the run's workers go to the
// cluster's agents. Loaded only when asked, so a run on one machine never loads Redis clients.

import type { JobSpec } from '../common/spec';
import type { ClusterRun } from '../engine/cluster/attach';
import { UsageError } from './usageError';

export async function connectCluster(
  url: string,
  waitText: string | undefined,
  dataBind: string | undefined,
  spec: JobSpec,
  json: boolean,
): Promise<ClusterRun> {
  const waitS = waitText === undefined ? undefined : Number(waitText);
  if (waitS !== undefined && !(Number.isFinite(waitS) && waitS > 0))
    throw new UsageError(`--cluster-wait: "${waitText}" is not a number of seconds above 0`, json);
  const { parseRedisUrl } = await import('../engine/cluster/redisUrl');
  try {
    parseRedisUrl(url);
  } catch (err) {
    throw new UsageError((err as Error).message, json);
  }
  const { joinCluster, parseBind, dataBindProblem } = await import('../engine/cluster/attach');
  if (dataBind !== undefined && !parseBind(dataBind)) throw new UsageError(dataBindProblem(dataBind), json);
  const { ClusterRefused } = await import('../engine/cluster/clusterNodes');
  try {
    // With --json stdout's last line is the summary: what the cluster says goes to stderr.
    return await joinCluster(url, spec, {
      waitS,
      dataBind,
      say: (line) => process.stderr.write(line + '\n'),
    });
  } catch (err) {
    if (err instanceof ClusterRefused) throw new UsageError(err.message, json);
    throw err;
  }
}
