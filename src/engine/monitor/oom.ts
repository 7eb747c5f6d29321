// ParallelRunStep users see an out-of-memory kill only as "process001 exits with returncode -9".
// This names the cause on the evidence there is, shows the memory the process had just before, and
// gives the reference's remedy.

import type { Finding, ProcessSample } from '../../common/events';
import { type OomCounters, oomKillsBetween } from './oomCounters';

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
  /** The kernel's out-of-memory kill counters when the worker started and after it died. */
  counters?: { before: OomCounters; after: OomCounters };
}

/** Below this share of its limit, a process was not killed for memory. */
const NOT_OOM_SHARE = 0.5;

/**
 * A finding for a worker killed by SIGKILL (return code -9); null for any other return code. It
 * says out of memory only on evidence: the kernel's oom_kill counters rose while the worker ran,
 * or, where they cannot be read, its memory was near the limit. Otherwise the signal came from
 * outside (a `kill -9`, a supervisor), and the finding says so with the figures.
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
  const limit = memoryLimit(context);
  const peak = last.length > 0 ? Math.max(...last.map((s) => s.rssBytes)) : null;
  const share = peak !== null && limit !== null ? peak / limit : null;
  const counted = context.counters ? oomKillsBetween(context.counters.before, context.counters.after) : null;

  let memory: string;
  if (peak !== null) {
    const figures = last.map((s) => formatBytes(s.rssBytes)).join(', ');
    memory =
      `Its memory (resident, with the subprocesses it started) in its last ${last.length} sample${last.length === 1 ? '' : 's'}` +
      ` (${step} s apart, oldest first): ${figures}; peak ${formatBytes(peak)}` +
      (limit !== null
        ? ` of the ${limitName(context)} ${formatBytes(limit)} (${(share! * 100).toFixed(0)}%)`
        : '') +
      '.';
  } else memory = 'No memory samples of it were taken before it died.';

  const perf = context.nodeId ? `logs/perf/${context.nodeId}` : 'logs/perf/<node>';
  const where = { process, logFile: `${perf}/processes_resource_usage.csv` };
  const sigkill = `${process} exits with returncode -9: it was killed by signal 9 (SIGKILL).`;
  const oom = counted !== null ? counted.kills > 0 : share === null ? null : share >= NOT_OOM_SHARE;
  if (oom === true) {
    return {
      kind: 'oom',
      title: `${process} killed (signal 9): ${counted ? 'out of memory' : 'likely out of memory'}`,
      detail:
        `${sigkill} ` +
        (counted
          ? `The kernel's out-of-memory killer killed ${counted.kills} process(es) while it ran (${counted.where}). `
          : `Its memory was near the limit, and the system's out-of-memory killer sends SIGKILL when memory runs out (the kernel's kill counters could not be read here). `) +
        memory,
      remedy:
        'Reduce the number of processes per node (process_count_per_node) or use a machine with more memory; ' +
        'a smaller mini_batch_size also lowers the memory each run() needs. ' +
        `${perf}/processes_resource_usage.csv shows the memory of each process over time.`,
      ...where,
    };
  }
  const why =
    oom === false
      ? counted
        ? `The kernel counted no out-of-memory kill while it ran (${counted.where} unchanged), so the kernel did not kill it: the signal came from another process (a \`kill -9\`, a supervisor, a user-space memory daemon such as systemd-oomd or earlyoom, or the end of a session or container).`
        : `Its memory was far below the limit, so it was not out of memory: the signal came from outside (a \`kill -9\`, a supervisor, or the end of a session or container).`
      : "Neither the kernel's out-of-memory kill counters nor memory samples were available, so whether memory ran out is not known.";
  return {
    kind: 'crash',
    title:
      oom === false
        ? // High memory without a kernel kill may still be a user-space memory daemon's doing.
          `${process} killed by signal 9 from outside (${share !== null && share < NOT_OOM_SHARE ? 'not out of memory' : "not the kernel's out-of-memory killer"})`
        : `${process} killed by signal 9 (cause unknown)`,
    detail: `${sigkill} ${why} ${memory}`,
    remedy:
      'Find what sent SIGKILL to the worker (another user or script, a job scheduler, a container or session limit other than memory); ' +
      'the failed mini-batch can be re-run with `prs resume --retry-failed`.',
    ...where,
  };
}

/** The memory the process could have: its cgroup's limit where that is lower than the node's. */
function memoryLimit(context: OomContext): number | null {
  const cgroup = context.counters?.after.cgroupLimitBytes ?? null;
  const node = context.memTotalBytes ?? null;
  if (cgroup !== null && (node === null || cgroup < node)) return cgroup;
  return node;
}

function limitName(context: OomContext): string {
  const cgroup = context.counters?.after.cgroupLimitBytes ?? null;
  return cgroup !== null && cgroup === memoryLimit(context) ? "memory cgroup's limit of" : "node's";
}
