// The perf files of ParallelRunStep's log tree, written at each check (every
// resource_monitor_interval seconds):
//   logs/perf/<node>/node_resource_usage.csv       the node: CPU, memory, each GPU
//   logs/perf/<node>/processes_resource_usage.csv  each worker (with its subprocesses) and the leader
//   logs/perf/<node>/node_disk_usage.csv           the filesystem holding the run folder
//   logs/perf/<node>/os/<YYYYMMDDHH>/processes_<MM> a process listing (`ps aux`; `tasklist` on Windows)
// A row holds the values at the check, plus each process's mean CPU and peak memory since the check
// before, so a spike between two checks ten minutes apart is not lost.

import { execFile } from 'node:child_process';
import { appendFile, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { csvField } from '../../common/csv';
import type { NodeSample, ProcessSample } from '../../common/events';

export const NODE_CSV = 'node_resource_usage.csv';
export const PROCESSES_CSV = 'processes_resource_usage.csv';
export const DISK_CSV = 'node_disk_usage.csv';

export function nodeCsvHeader(gpus: number[]): string {
  const cols = ['time', 'cpu_percent', 'memory_used_bytes', 'memory_total_bytes', 'memory_percent'];
  for (const g of gpus)
    cols.push(`gpu${g}_util_percent`, `gpu${g}_memory_used_bytes`, `gpu${g}_memory_total_bytes`);
  return cols.join(',');
}

export const PROCESSES_CSV_HEADER = 'time,process,pid,cpu_percent,cpu_percent_mean,rss_bytes,rss_peak_bytes';
export const DISK_CSV_HEADER = 'time,path,total_bytes,used_bytes,used_percent';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Local time as ISO 8601 with its offset: 2024-05-01T14:03:09+02:00. */
export function isoLocal(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:` +
    `${pad(d.getSeconds())}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** os/<YYYYMMDDHH>/processes_<MM>, in local time as the reference does. */
export function listingPath(perfDir: string, ms: number): string {
  const d = new Date(ms);
  const hour = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}${pad(d.getHours())}`;
  return path.join(perfDir, 'os', hour, `processes_${pad(d.getMinutes())}`);
}

const pct = (part: number, whole: number): string => (whole > 0 ? ((part / whole) * 100).toFixed(1) : '0');

interface Accumulated {
  cpuSum: number;
  n: number;
  rssPeak: number;
}

/** Runs `ps aux` (or `tasklist`); null when it is missing or fails. */
export function systemListing(): Promise<string | null> {
  const [cmd, args] = process.platform === 'win32' ? ['tasklist', ['/v']] : ['ps', ['aux']];
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5000, maxBuffer: 16 * 1024 * 1024, windowsHide: true }, (err, stdout) =>
      resolve(err ? null : stdout),
    );
  });
}

export class PerfFileWriter {
  private readonly accumulated = new Map<string, Accumulated>();
  private ready: Promise<void> | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly perfDir: string,
    private readonly runDir: string,
    private readonly gpus: number[],
    /** A ps-like listing when the system has no `ps` (minimal containers). */
    private readonly fallbackListing: () => string,
  ) {}

  /** Every sample: feeds the means and peaks of the next check. */
  observe(processes: ProcessSample[]): void {
    for (const p of processes) {
      const a = this.accumulated.get(p.process) ?? { cpuSum: 0, n: 0, rssPeak: 0 };
      a.cpuSum += p.cpuPercent;
      a.n++;
      a.rssPeak = Math.max(a.rssPeak, p.rssBytes);
      this.accumulated.set(p.process, a);
    }
  }

  private async ensureFiles(): Promise<void> {
    await mkdir(this.perfDir, { recursive: true });
    const headers: Array<[string, string]> = [
      [NODE_CSV, nodeCsvHeader(this.gpus)],
      [PROCESSES_CSV, PROCESSES_CSV_HEADER],
      [DISK_CSV, DISK_CSV_HEADER],
    ];
    for (const [file, header] of headers) {
      const full = path.join(this.perfDir, file);
      // A resumed run appends to the files of its first part.
      const exists = await stat(full).then(
        (s) => s.size > 0,
        () => false,
      );
      if (!exists) await writeFile(full, header + '\n');
    }
  }

  /**
   * One check: a row in each CSV and a process listing (this machine's, unless a node's agent sent
   * its own). The rows are taken now, since samples go on arriving while earlier checks are still
   * being written (an agent's come in bursts); the files are written in the order of the checks.
   */
  write(node: NodeSample, processes: ProcessSample[], listingOf?: string): Promise<void> {
    const rows = this.rows(node, processes);
    this.queue = this.queue.catch(() => undefined).then(() => this.append(node.t, rows, listingOf));
    return this.queue;
  }

  private rows(
    node: NodeSample,
    processes: ProcessSample[],
  ): { node: string; processes: string[]; disk: string } {
    const time = isoLocal(node.t);
    const nodeRow = [
      time,
      node.cpuPercent.toFixed(1),
      node.memUsedBytes,
      node.memTotalBytes,
      pct(node.memUsedBytes, node.memTotalBytes),
    ];
    for (const g of this.gpus) {
      const s = node.gpus.find((x) => x.index === g);
      nodeRow.push(s ? s.utilPercent : '', s ? s.memUsedBytes : '', s ? s.memTotalBytes : '');
    }
    const processRows = processes.map((p) => {
      const a = this.accumulated.get(p.process);
      const mean = a && a.n > 0 ? a.cpuSum / a.n : p.cpuPercent;
      return [
        time,
        csvField(p.process),
        p.pid,
        p.cpuPercent.toFixed(1),
        mean.toFixed(1),
        p.rssBytes,
        Math.max(a?.rssPeak ?? 0, p.rssBytes),
      ].join(',');
    });
    this.accumulated.clear();
    const diskRow = [
      time,
      csvField(this.runDir),
      node.diskTotalBytes,
      node.diskUsedBytes,
      pct(node.diskUsedBytes, node.diskTotalBytes),
    ];
    return { node: nodeRow.join(','), processes: processRows, disk: diskRow.join(',') };
  }

  private async append(
    t: number,
    rows: { node: string; processes: string[]; disk: string },
    listingOf: string | undefined,
  ): Promise<void> {
    this.ready ??= this.ensureFiles();
    await this.ready;
    await appendFile(path.join(this.perfDir, NODE_CSV), rows.node + '\n');
    if (rows.processes.length > 0)
      await appendFile(path.join(this.perfDir, PROCESSES_CSV), rows.processes.join('\n') + '\n');
    await appendFile(path.join(this.perfDir, DISK_CSV), rows.disk + '\n');
    const listing = listingOf ?? (await systemListing()) ?? this.fallbackListing();
    const file = listingPath(this.perfDir, t);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, listing);
  }
}
