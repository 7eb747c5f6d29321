// Per-worker CPU and memory on Linux, including the interpreters and subprocesses a worker started.
//
// Cost: finding descendants needs every process's parent, i.e. reading /proc/<pid>/stat for every
// process on the machine (~15 µs each: 6 ms a second on a desktop with 400 processes, 0.6% of a
// core). So the full walk runs only every `scanEvery` samples (and right after the worker list
// changes); the samples between read just the processes already known to belong to a worker. A
// subprocess is thus seen at most `scanEvery` seconds late; its CPU time is not lost, only shown
// late (see `cpuDelta`).

import { listPids, type ProcStat, readStat, readUptime, sysconfValues } from './procfs';

export interface TreeSample {
  process: string;
  pid: number;
  cpuPercent: number;
  rssBytes: number;
  /** Processes in the tree (the worker and its descendants). */
  processCount: number;
}

interface Known {
  startTicks: number;
  cpuTicks: number;
}

export class ProcessTreeSampler {
  private roots = new Map<string, number>();
  /** Per worker: the pids of its tree as of the last walk, kept up to date as members exit. */
  private members = new Map<string, Set<number>>();
  /** Per pid: what it had used at the previous sample (to compute deltas). */
  private known = new Map<number, Known>();
  private samples = 0;
  private rescanDue = true;
  private prevUptime: number | null = null;
  /** Uptime at the last full walk: a process started after it cannot have been counted yet. */
  private prevWalkUptime: number | null = null;
  private readonly scanEvery: number;
  /** Roots whose descendants are not followed (the leader: its children are the workers). */
  private readonly selfOnly: Set<string>;
  /** The stat of every process as of the last full walk, for process listings. */
  lastScan: ProcStat[] = [];

  constructor(opts: { scanEvery?: number; selfOnly?: string[] } = {}) {
    this.scanEvery = Math.max(1, opts.scanEvery ?? 5);
    this.selfOnly = new Set(opts.selfOnly ?? []);
  }

  setRoots(roots: Map<string, number>): void {
    const changed =
      roots.size !== this.roots.size || [...roots].some(([name, pid]) => this.roots.get(name) !== pid);
    this.roots = new Map(roots);
    if (changed) this.rescanDue = true;
  }

  /** Walks every process once: the parent map gives each worker's descendants. */
  private rescan(): Map<number, ProcStat> {
    const stats = new Map<number, ProcStat>();
    for (const pid of listPids()) {
      const s = readStat(pid);
      if (s) stats.set(pid, s);
    }
    this.lastScan = [...stats.values()];
    const children = new Map<number, number[]>();
    for (const s of stats.values()) {
      const list = children.get(s.ppid);
      if (list) list.push(s.pid);
      else children.set(s.ppid, [s.pid]);
    }
    this.members.clear();
    for (const [name, root] of this.roots) {
      const set = new Set<number>();
      if (stats.has(root)) {
        const stack = [root];
        while (stack.length > 0) {
          const pid = stack.pop() as number;
          if (set.has(pid)) continue;
          set.add(pid);
          if (!this.selfOnly.has(name)) stack.push(...(children.get(pid) ?? []));
        }
      }
      this.members.set(name, set);
    }
    return stats;
  }

  /** One sample of every root still alive. */
  sample(): TreeSample[] {
    const { clockTicks, pageSize } = sysconfValues();
    const uptime = readUptime();
    const elapsed = uptime !== null && this.prevUptime !== null ? uptime - this.prevUptime : 0;
    const walk = this.rescanDue || this.samples % this.scanEvery === 0;
    const since = this.prevWalkUptime;
    this.samples++;
    this.rescanDue = false;
    const before = walk ? new Map(this.members) : null;
    const scanned = walk ? this.rescan() : null;
    const out: TreeSample[] = [];
    const seen = new Set<number>();
    for (const [name, root] of this.roots) {
      let set = this.members.get(name);
      if (!set) {
        set = new Set([root]);
        this.members.set(name, set);
      }
      let ticks = 0;
      let gone = 0;
      let rssPages = 0;
      let count = 0;
      let rootAlive = false;
      // Members that exited since the last sample. If a member reaped one, its time now shows in
      // that member's cutime/cstime: take back what was already counted, so nothing counts twice.
      for (const pid of before?.get(name) ?? []) {
        const prev = this.known.get(pid);
        if (!set.has(pid) && scanned && !scanned.has(pid) && prev) {
          gone += prev.cpuTicks;
          this.known.delete(pid);
        }
      }
      for (const pid of [...set]) {
        const s = scanned ? (scanned.get(pid) ?? null) : readStat(pid);
        const prev = this.known.get(pid);
        if (!s || (prev && prev.startTicks !== s.startTicks)) {
          // Exited, or its pid was reused by a process that is not ours.
          set.delete(pid);
          if (prev) gone += prev.cpuTicks;
          this.known.delete(pid);
          continue;
        }
        if (pid === root) rootAlive = true;
        seen.add(pid);
        count++;
        rssPages += s.state === 'Z' ? 0 : s.rssPages;
        if (prev) ticks += s.cpuTicks - prev.cpuTicks;
        else if (since !== null && s.startTicks / clockTicks >= since) ticks += s.cpuTicks;
        // else: it already ran at the walk before and was not ours then (a new worker given to
        // setRoots, or adopted): count from now on, not its whole past.
        this.known.set(pid, { startTicks: s.startTicks, cpuTicks: s.cpuTicks });
      }
      if (!rootAlive) continue;
      const cpuPercent = elapsed > 0 ? (Math.max(0, ticks - gone) / clockTicks / elapsed) * 100 : 0;
      out.push({
        process: name,
        pid: root,
        cpuPercent: Math.round(cpuPercent * 10) / 10,
        rssBytes: rssPages * pageSize,
        processCount: count,
      });
    }
    // Forget processes no tree holds any longer.
    for (const pid of this.known.keys()) if (!seen.has(pid)) this.known.delete(pid);
    for (const name of this.members.keys()) if (!this.roots.has(name)) this.members.delete(name);
    this.prevUptime = uptime;
    if (walk) this.prevWalkUptime = uptime;
    return out;
  }
}
