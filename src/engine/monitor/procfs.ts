// Linux's /proc, read without starting a subprocess. These files live in memory and are produced by
// the kernel on read, so synchronous reads into one reused buffer are the cheapest way to get them
// (about 10-20 µs a file, against ~40 µs for readFileSync and more for promise-based reads); they
// never wait for a disk, so they do not stall the event loop beyond that.

import { closeSync, openSync, readSync, readdirSync } from 'node:fs';

let buffer = Buffer.allocUnsafe(16 * 1024);

/** The whole text of a /proc file, or null when it is gone (the process exited) or unreadable. */
export function readProcFile(file: string): string | null {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length === buffer.length) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
    }
    return buffer.toString('latin1', 0, length);
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
  /** utime + stime + cutime + cstime, in clock ticks: its own CPU time and that of children it reaped. */
  cpuTicks: number;
  /** Since boot, in clock ticks. */
  startTicks: number;
  rssPages: number;
  vsizeBytes: number;
}

/** Parses /proc/<pid>/stat. The command name sits in parentheses and may itself hold spaces and ')'. */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state) of proc(5).
  if (f.length < 22) return null;
  return {
    pid: Number(text.slice(0, open)),
    comm: text.slice(open + 1, close),
    state: f[0],
    ppid: Number(f[1]),
    cpuTicks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
    startTicks: Number(f[19]),
    vsizeBytes: Number(f[20]),
    rssPages: Number(f[21]),
  };
}

export function readStat(pid: number): ProcStat | null {
  const text = readProcFile(`/proc/${pid}/stat`);
  return text === null ? null : parseStat(text);
}

/** Every process id in /proc. */
export function listPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(name));
  }
  return pids;
}

/** Aggregate CPU ticks of the node from /proc/stat's first line. */
export function readNodeCpuTicks(): { total: number; idle: number } | null {
  const text = readProcFile('/proc/stat');
  if (!text) return null;
  const line = text.slice(0, text.indexOf('\n'));
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user/nice).
  const total = v.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { total, idle };
}

/** MemTotal and MemAvailable from /proc/meminfo, in bytes. */
export function readMeminfo(): { total: number; available: number } | null {
  const text = readProcFile('/proc/meminfo');
  if (!text) return null;
  const kb = (key: string): number | null => {
    const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  const total = kb('MemTotal');
  if (total === null) return null;
  // Kernels before 3.14 have no MemAvailable.
  const available = kb('MemAvailable') ?? (kb('MemFree') ?? 0) + (kb('Buffers') ?? 0) + (kb('Cached') ?? 0);
  return { total, available };
}

/** Seconds since boot, with the kernel's 10 ms resolution. */
export function readUptime(): number | null {
  const text = readProcFile('/proc/uptime');
  return text ? Number(text.split(' ')[0]) : null;
}

let sysconf: { clockTicks: number; pageSize: number } | undefined;

/**
 * USER_HZ and the page size, without a subprocess (a `getconf` would add milliseconds to every run's
 * start). USER_HZ is 100 on every Linux architecture Node runs on: it is part of the kernel's ABI
 * to user space. The page size follows from this process's own resident size, which Node reports in
 * bytes and /proc/self/stat in pages.
 */
export function sysconfValues(): { clockTicks: number; pageSize: number } {
  if (sysconf) return sysconf;
  const pages = readStat(process.pid)?.rssPages ?? 0;
  const bytes = process.memoryUsage.rss();
  // Rounded to a power of two: the two reads are microseconds apart and the size may have moved.
  const pageSize = pages > 0 ? 2 ** Math.round(Math.log2(bytes / pages)) : 4096;
  sysconf = { clockTicks: 100, pageSize: pageSize >= 4096 ? pageSize : 4096 };
  return sysconf;
}

/** The command line of a process, for listings; the comm name when it has none (kernel threads). */
export function readCmdline(pid: number): string | null {
  const text = readProcFile(`/proc/${pid}/cmdline`);
  if (text === null) return null;
  return text.replace(/\0+$/, '').replace(/\0/g, ' ');
}

/** A `ps`-like listing built from /proc, for systems without `ps`. */
export function procListing(): string {
  const { clockTicks, pageSize } = sysconfValues();
  const rows = ['    PID    PPID S   RSS(KB)      CPU(s) COMMAND'];
  for (const pid of listPids()) {
    const s = readStat(pid);
    if (!s) continue;
    const cmd = readCmdline(pid) || `[${s.comm}]`;
    const rssKb = Math.round((s.rssPages * pageSize) / 1024);
    const cpu = (s.cpuTicks / clockTicks).toFixed(2);
    rows.push(
      `${String(pid).padStart(7)} ${String(s.ppid).padStart(7)} ${s.state} ${String(rssKb).padStart(9)} ${cpu.padStart(11)} ${cmd}`,
    );
  }
  return rows.join('\n') + '\n';
}
