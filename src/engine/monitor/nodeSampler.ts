// Node-wide CPU and memory, and the disk holding the run folder. On Linux from /proc (no subprocess);
// elsewhere through systeminformation, together with the per-process figures (macOS and Windows have
// no /proc: systeminformation runs ps or asks WMI, which costs more but only there).

import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import type { TreeSample } from './processTree';
import { readMeminfo, readNodeCpuTicks } from './procfs';
import { systemInformation } from '../devices/systemInformation';

export interface NodeFigures {
  cpuPercent: number;
  memUsedBytes: number;
  memTotalBytes: number;
}

export class LinuxNodeSampler {
  private prev = readNodeCpuTicks();

  sample(): NodeFigures {
    const now = readNodeCpuTicks();
    let cpuPercent = 0;
    if (now && this.prev && now.total > this.prev.total) {
      const total = now.total - this.prev.total;
      const busy = total - (now.idle - this.prev.idle);
      cpuPercent = Math.min(100, Math.max(0, (busy / total) * 100));
    }
    this.prev = now;
    const mem = readMeminfo();
    return {
      cpuPercent: Math.round(cpuPercent * 10) / 10,
      memUsedBytes: mem ? mem.total - mem.available : 0,
      memTotalBytes: mem ? mem.total : 0,
    };
  }
}

/** The filesystem of `dir` (or of its nearest existing parent, before the run folder exists). */
export async function diskUsage(dir: string): Promise<{ usedBytes: number; totalBytes: number }> {
  let at = path.resolve(dir);
  while (!existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  try {
    const s = await statfs(at);
    return { totalBytes: s.blocks * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize };
  } catch {
    return { totalBytes: 0, usedBytes: 0 };
  }
}

/** Everything at once through systeminformation, for systems without /proc. */
export async function sampleWithSystemInformation(
  roots: Map<string, number>,
  selfOnly: Set<string>,
): Promise<{ node: NodeFigures; processes: TreeSample[] }> {
  const si = await systemInformation();
  const [load, mem, procs] = await Promise.all([si.currentLoad(), si.mem(), si.processes()]);
  const children = new Map<number, number[]>();
  const byPid = new Map<number, { cpu: number; rssBytes: number }>();
  for (const p of procs.list) {
    byPid.set(p.pid, { cpu: p.cpu ?? 0, rssBytes: (p.memRss ?? 0) * 1024 });
    const list = children.get(p.parentPid) ?? [];
    list.push(p.pid);
    children.set(p.parentPid, list);
  }
  const processes: TreeSample[] = [];
  for (const [name, root] of roots) {
    if (!byPid.has(root)) continue;
    let cpu = 0;
    let rss = 0;
    let count = 0;
    const seen = new Set<number>();
    const stack = [root];
    while (stack.length > 0) {
      const pid = stack.pop() as number;
      if (seen.has(pid)) continue;
      seen.add(pid);
      const p = byPid.get(pid);
      if (!p) continue;
      cpu += p.cpu;
      rss += p.rssBytes;
      count++;
      if (!selfOnly.has(name)) stack.push(...(children.get(pid) ?? []));
    }
    processes.push({
      process: name,
      pid: root,
      cpuPercent: Math.round(cpu * 10) / 10,
      rssBytes: rss,
      processCount: count,
    });
  }
  return {
    node: {
      cpuPercent: Math.round((load.currentLoad ?? 0) * 10) / 10,
      memUsedBytes: mem.total - mem.available,
      memTotalBytes: mem.total,
    },
    processes,
  };
}
