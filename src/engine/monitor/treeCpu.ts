// The CPU time a worker spent on one mini-batch, for the one case where the worker cannot say:
// a run() the leader kills for its timeout (a Node busy loop blocks the very process that would
// report it). Read from /proc just before the kill, for the worker and every process under it
// (the Python interpreter, subprocesses run() started), against a mark taken while the mini-batch
// ran. Besides the CPU time, the time spent runnable but waiting for a CPU (schedstat's run delay)
// counts as computing: on a loaded machine a busy loop gets a fraction of a core, yet never waits
// for anything but the CPU. Linux only; elsewhere every figure is null.

import { listPids, type ProcStat, readProcFile, readStat, sysconfValues } from './procfs';

interface PidMark {
  startTicks: number;
  /** utime + stime + reaped children, in clock ticks. */
  cpuTicks: number;
  /** Nanoseconds spent runnable, waiting for a CPU (its main thread's). */
  runDelayNs: number;
}

export interface CpuMark {
  /** Epoch ms when it was taken. */
  at: number;
  pids: Map<number, PidMark>;
}

/** What a tree used between a mark and now. */
export interface CpuUse {
  cpuS: number;
  /** Runnable but not running: waiting for a CPU other processes held. */
  runQueueS: number;
  /** Seconds between the mark and now. */
  windowS: number;
}

const linux = process.platform === 'linux';

/** The root and all its descendants, from one walk of /proc (milliseconds: only at a kill). */
export function processTree(root: number): ProcStat[] {
  if (!linux) return [];
  const children = new Map<number, ProcStat[]>();
  let rootStat: ProcStat | null = null;
  for (const pid of listPids()) {
    const s = readStat(pid);
    if (!s) continue;
    if (pid === root) rootStat = s;
    const list = children.get(s.ppid);
    if (list) list.push(s);
    else children.set(s.ppid, [s]);
  }
  if (!rootStat) return [];
  const tree: ProcStat[] = [];
  const stack = [rootStat];
  while (stack.length > 0) {
    const s = stack.pop()!;
    tree.push(s);
    stack.push(...(children.get(s.pid) ?? []));
  }
  return tree;
}

/**
 * The root and its descendants through /proc/<pid>/task/<pid>/children, a few reads instead of a
 * walk of every process. Children forked by a thread other than a process's main thread are not
 * listed there; they count whole at the kill. Falls back to the walk on kernels without the files.
 */
function treePids(root: number): number[] {
  if (readProcFile(`/proc/${root}/task/${root}/children`) === null)
    return processTree(root).map((s) => s.pid);
  const pids: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    pids.push(pid);
    const children = readProcFile(`/proc/${pid}/task/${pid}/children`) ?? '';
    for (const child of children.split(' ')) if (child) stack.push(Number(child));
  }
  return pids;
}

function runDelayNs(pid: number): number {
  const text = readProcFile(`/proc/${pid}/schedstat`);
  return text ? Number(text.split(' ')[1]) || 0 : 0;
}

/**
 * A mark of the tree of `root` (a few /proc reads a process): taken once per mini-batch that runs
 * long enough to be seen by the leader's timer, never for quick ones. Null off Linux.
 */
export function markCpu(root: number): CpuMark | null {
  if (!linux) return null;
  const pids = new Map<number, PidMark>();
  for (const pid of treePids(root)) {
    const s = readStat(pid);
    if (s) pids.set(pid, { startTicks: s.startTicks, cpuTicks: s.cpuTicks, runDelayNs: runDelayNs(pid) });
  }
  return { at: Date.now(), pids };
}

/**
 * What the tree of `root` used since `mark`: a process in the mark counts from it, one started
 * since counts whole. Null off Linux or when the root is gone.
 */
export function cpuSince(root: number, mark: CpuMark): CpuUse | null {
  const tree = processTree(root);
  if (tree.length === 0) return null;
  let ticks = 0;
  let delayNs = 0;
  for (const s of tree) {
    const before = mark.pids.get(s.pid);
    const same = before !== undefined && before.startTicks === s.startTicks;
    ticks += same ? s.cpuTicks - before.cpuTicks : s.cpuTicks;
    delayNs += runDelayNs(s.pid) - (same ? before.runDelayNs : 0);
  }
  return {
    cpuS: ticks / sysconfValues().clockTicks,
    runQueueS: Math.max(0, delayNs) / 1e9,
    windowS: (Date.now() - mark.at) / 1000,
  };
}
