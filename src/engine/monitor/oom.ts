// ParallelRunStep users see an out-of-memory kill only as "process001 exits with returncode -9".
// This names it, shows the memory the process had just before, and gives the reference's remedy.

import type { Finding, ProcessSample } from '../../common/events';

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : 1).replace(/\.0$/, '')} ${units[u]}`;
}

export interface OomContext {
  /** logs/perf/<node>: named in the finding as where the memory record is. */
  nodeId?: string;
  /** The node's memory, to compare with. */
  memTotalBytes?: number;
  /** Seconds between the samples (1 by default). */
  sampleIntervalS?: number;
}

/**
 * A finding for a worker killed by SIGKILL (return code -9), which on a workstation is almost always
 * the kernel's out-of-memory killer; null for any other return code.
 */
export function oomFinding(
  process: string,
  returnCode: number,
  samples: ProcessSample[],
  context: OomContext = {},
): Finding | null {
  if (returnCode !== -9) return null;
  const last = samples.slice(-10);
  const step = context.sampleIntervalS ?? 1;
  let detail = `${process} exits with returncode -9: it was killed by signal 9 (SIGKILL), which the system's out-of-memory killer sends when memory runs out.`;
  if (last.length > 0) {
    const peak = Math.max(...last.map((s) => s.rssBytes));
    const figures = last.map((s) => formatBytes(s.rssBytes)).join(', ');
    detail +=
      ` Its memory (resident, with the subprocesses it started) in its last ${last.length} sample${last.length === 1 ? '' : 's'}` +
      ` (${step} s apart, oldest first): ${figures}; peak ${formatBytes(peak)}`;
    if (context.memTotalBytes) {
      detail += ` of the node's ${formatBytes(context.memTotalBytes)} (${((peak / context.memTotalBytes) * 100).toFixed(0)}%)`;
    }
    detail += '.';
  } else {
    detail += ' No memory samples of it were taken before it died.';
  }
  const perf = context.nodeId ? `logs/perf/${context.nodeId}` : 'logs/perf/<node>';
  return {
    kind: 'oom',
    title: `${process} killed (signal 9): likely out of memory`,
    detail,
    remedy:
      'Reduce the number of processes per node (process_count_per_node) or use a machine with more memory; ' +
      'a smaller mini_batch_size also lowers the memory each run() needs. ' +
      `${perf}/processes_resource_usage.csv shows the memory of each process over time.`,
    process,
    logFile: `${perf}/processes_resource_usage.csv`,
  };
}
