// The kernel's own record of out-of-memory kills, so that a SIGKILL is called "out of memory" only
// on evidence: the oom_kill counters of /proc/vmstat (the whole machine, Linux 4.13+) and of the
// memory cgroup the worker runs in (cgroup v2 memory.events, v1 memory.oom_control), read when the
// worker starts and again when it dies; and the memory limit it ran under.

import { readProcFile } from './procfs';

export interface OomCounters {
  /** oom_kill of /proc/vmstat; null where the kernel has none. */
  system: number | null;
  /** oom_kill of the worker's memory cgroup; null where there is none or it cannot be read. */
  cgroup: number | null;
  /** The file the cgroup figure came from, to name it. */
  cgroupFile: string | null;
  /** The cgroup's memory limit in bytes; null when unlimited or unknown. */
  cgroupLimitBytes: number | null;
}

const NONE: OomCounters = { system: null, cgroup: null, cgroupFile: null, cgroupLimitBytes: null };

function counter(text: string | null, key: string): number | null {
  if (text === null) return null;
  const m = new RegExp(`^${key}\\s+(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** The memory cgroup folder of a process, for cgroup v2 and v1 mounts in the usual place. */
function cgroupDirs(pid: number | 'self'): Array<{ dir: string; v2: boolean }> {
  const text = readProcFile(`/proc/${pid}/cgroup`);
  if (!text) return [];
  const dirs: Array<{ dir: string; v2: boolean }> = [];
  for (const line of text.split('\n')) {
    const [, controllers, rel] = line.split(':');
    if (rel === undefined) continue;
    // A container sees its own cgroup as the mount's root, or under its full path: try both.
    if (controllers === '') {
      dirs.push({ dir: `/sys/fs/cgroup${rel}`, v2: true }, { dir: '/sys/fs/cgroup', v2: true });
    } else if (controllers?.split(',').includes('memory')) {
      dirs.push(
        { dir: `/sys/fs/cgroup/memory${rel}`, v2: false },
        { dir: '/sys/fs/cgroup/memory', v2: false },
      );
    }
  }
  return dirs;
}

/** Reads the counters as they are now, for the cgroup of `pid` (this process by default). */
export function readOomCounters(pid: number | 'self' = 'self'): OomCounters {
  if (process.platform !== 'linux') return NONE;
  const system = counter(readProcFile('/proc/vmstat'), 'oom_kill');
  for (const { dir, v2 } of cgroupDirs(pid)) {
    const file = v2 ? `${dir}/memory.events` : `${dir}/memory.oom_control`;
    const kills = counter(readProcFile(file), 'oom_kill');
    if (kills === null) continue;
    const limit = Number(
      (readProcFile(v2 ? `${dir}/memory.max` : `${dir}/memory.limit_in_bytes`) ?? '').trim(),
    );
    // "max" (v2) or a page-rounded 2^63 (v1) mean no limit.
    const limited = Number.isFinite(limit) && limit > 0 && limit < 2 ** 60;
    return { system, cgroup: kills, cgroupFile: file, cgroupLimitBytes: limited ? limit : null };
  }
  return { ...NONE, system };
}

/**
 * The out-of-memory kills the kernel counted between `before` and `after`, and the counters that
 * say so; null when no counter was readable both times. Either counter rising counts: a cgroup v1
 * counts only kills for its own limit, /proc/vmstat every kill on the machine.
 */
export function oomKillsBetween(
  before: OomCounters,
  after: OomCounters,
): { kills: number; where: string } | null {
  const sources: Array<{ kills: number; where: string }> = [];
  if (before.cgroup !== null && after.cgroup !== null && before.cgroupFile === after.cgroupFile)
    sources.push({ kills: after.cgroup - before.cgroup, where: `oom_kill in ${after.cgroupFile}` });
  if (before.system !== null && after.system !== null)
    sources.push({ kills: after.system - before.system, where: 'oom_kill in /proc/vmstat' });
  if (sources.length === 0) return null;
  const rose = sources.find((s) => s.kills > 0);
  return rose ?? { kills: 0, where: sources.map((s) => s.where).join(' and ') };
}
