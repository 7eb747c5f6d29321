// The CPU time a worker spent on one mini-batch, for the one case where the worker cannot say:
// a run() the leader kills for its timeout (a Node busy loop blocks the very process that would
// report it). Read from /proc just before the kill, for the worker and every process under it
// (the Python interpreter, subprocesses run() started), against a mark taken when the mini-batch
// began. Linux only; elsewhere every figure is null.

import { listPids, type ProcStat, readStat, sysconfValues } from './procfs';

/** CPU ticks (utime + stime + reaped children) per pid, with its start time to spot pid reuse. */
export type CpuMark = Map<number, { startTicks: number; cpuTicks: number }>;

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
 * A cheap mark of the pids given (one /proc read each, no walk): taken at every mini-batch start,
 * so it must cost microseconds. The pids are the tree as last walked.
 */
export function markCpu(pids: Iterable<number>): CpuMark {
  const mark: CpuMark = new Map();
  if (!linux) return mark;
  for (const pid of pids) {
    const s = readStat(pid);
    if (s) mark.set(pid, { startTicks: s.startTicks, cpuTicks: s.cpuTicks });
  }
  return mark;
}

/**
 * Seconds of CPU the tree of `root` used since `mark`: a process in the mark counts from it, one
 * started since counts whole. Null off Linux or when the root is gone.
 */
export function cpuSecondsSince(root: number, mark: CpuMark): { seconds: number; pids: number[] } | null {
  const tree = processTree(root);
  if (tree.length === 0) return null;
  let ticks = 0;
  for (const s of tree) {
    const before = mark.get(s.pid);
    ticks += before && before.startTicks === s.startTicks ? s.cpuTicks - before.cpuTicks : s.cpuTicks;
  }
  return { seconds: ticks / sysconfValues().clockTicks, pids: tree.map((s) => s.pid) };
}
