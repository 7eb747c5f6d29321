import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProcessSample } from '../../src/common/events';
import {
  type OomCounters,
  ResourceMonitor,
  formatBytes,
  oomFinding,
  readOomCounters,
} from '../../src/engine/monitor';

const MiB = 1024 * 1024;
const sample = (rssMiB: number): ProcessSample => ({
  process: 'process001',
  pid: 4242,
  cpuPercent: 99,
  rssBytes: rssMiB * MiB,
});

describe('oomFinding', () => {
  it('without counters, names a SIGKILL near the memory limit as likely out of memory, with the figures and the remedy', () => {
    const f = oomFinding('process001', -9, [100, 900, 2048, 3900].map(sample), {
      nodeId: 'node000',
      memTotalBytes: 4096 * MiB,
    });
    expect(f).not.toBeNull();
    expect(f?.kind).toBe('oom');
    expect(f?.process).toBe('process001');
    expect(f?.title).toBe('process001 killed (signal 9): likely out of memory');
    expect(f?.detail).toContain('process001 exits with returncode -9');
    expect(f?.detail).toContain('last 4 samples (1 s apart, oldest first): 100 MiB, 900 MiB, 2 GiB, 3.8 GiB');
    expect(f?.detail).toContain("peak 3.8 GiB of the node's 4 GiB (95%)");
    expect(f?.remedy).toMatch(/Reduce the number of processes per node \(process_count_per_node\)/);
    expect(f?.remedy).toMatch(/machine with more memory/);
    expect(f?.logFile).toBe('logs/perf/node000/processes_resource_usage.csv');
  });

  it('shows at most the last 10 samples', () => {
    const f = oomFinding(
      'process001',
      -9,
      Array.from({ length: 30 }, (_, i) => sample(i + 1)),
    );
    expect(f?.detail).toContain('last 10 samples');
    expect(f?.detail).toContain(': 21 MiB, 22 MiB');
  });

  it('says the cause is unknown without samples or counters', () => {
    const f = oomFinding('process002', -9, []);
    expect(f?.title).toBe('process002 killed by signal 9 (cause unknown)');
    expect(f?.detail).toContain('No memory samples');
  });

  const counters = (
    system: number | null,
    cgroup: number | null,
    limit: number | null = null,
  ): OomCounters => ({
    system,
    cgroup,
    cgroupFile: cgroup === null ? null : '/sys/fs/cgroup/x/memory.events',
    cgroupLimitBytes: limit,
  });

  it("is out of memory when the kernel's oom_kill counter rose, naming the counter", () => {
    const f = oomFinding('process001', -9, [sample(900)], {
      memTotalBytes: 4096 * MiB,
      counters: { before: counters(3, 0, 1024 * MiB), after: counters(3, 1, 1024 * MiB) },
    });
    expect(f?.kind).toBe('oom');
    expect(f?.title).toBe('process001 killed (signal 9): out of memory');
    expect(f?.detail).toContain(
      'killed 1 process(es) while it ran (oom_kill in /sys/fs/cgroup/x/memory.events)',
    );
    // The cgroup's limit is what the process could have, not the node's memory.
    expect(f?.detail).toContain("peak 900 MiB of the memory cgroup's limit of 1 GiB (88%)");
  });

  it("is not the kernel's out-of-memory killer when the counters did not move, whatever the memory", () => {
    const f = oomFinding('process001', -9, [sample(3900)], {
      memTotalBytes: 4096 * MiB,
      counters: { before: counters(5, null), after: counters(5, null) },
    });
    expect(f?.kind).toBe('crash');
    expect(f?.title).toBe(
      "process001 killed by signal 9 from outside (not the kernel's out-of-memory killer)",
    );
    expect(f?.detail).toContain('(oom_kill in /proc/vmstat unchanged)');
    expect(f?.detail).toContain('systemd-oomd');
    expect(f?.remedy).toMatch(/Find what sent SIGKILL/);
  });

  it('without counters, low memory against the node is not out of memory', () => {
    const f = oomFinding('process001', -9, [sample(40)], { memTotalBytes: 4096 * MiB });
    expect(f?.title).toBe('process001 killed by signal 9 from outside (not out of memory)');
    expect(f?.detail).toContain('far below the limit');
    expect(f?.detail).toContain("peak 40 MiB of the node's 4 GiB (1%)");
  });

  it('is null for other return codes', () => {
    expect(oomFinding('process001', 1, [sample(10)])).toBeNull();
    expect(oomFinding('process001', -15, [sample(10)])).toBeNull();
    expect(oomFinding('process001', 0, [])).toBeNull();
  });

  it('formats byte counts', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300 * MiB)).toBe('300 MiB');
  });

  it.runIf(process.platform === 'linux')(
    'reports a real process killed by SIGKILL from outside, from the monitor samples and the counters',
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'prs-oom-'));
      const child = spawn(
        process.execPath,
        [
          '-e',
          "const b = Buffer.alloc(80 * 1024 * 1024); b.fill(1); console.log('ready'); setInterval(() => b[0]++, 100);",
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const monitor = new ResourceMonitor({
        nodeId: 'node000',
        perfDir: path.join(dir, 'perf'),
        runDir: dir,
        intervalS: 0,
        sampleMs: 200,
        gpus: [],
      });
      try {
        await new Promise<void>((resolve) =>
          child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
        );
        const before = readOomCounters(child.pid as number);
        monitor.setProcesses([{ process: 'process001', pid: child.pid as number }]);
        monitor.start();
        while (monitor.lastSamples('process001').length < 3) await new Promise((r) => setTimeout(r, 100));
        const exit = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, signal) => r(signal)));
        child.kill('SIGKILL');
        // As _main.txt writes it: a negative return code for a signal.
        const returnCode = (await exit) === 'SIGKILL' ? -9 : 0;
        const f = oomFinding('process001', returnCode, monitor.lastSamples('process001'), {
          nodeId: 'node000',
          memTotalBytes: os.totalmem(),
          counters: { before, after: readOomCounters() },
        });
        // Killed by this test, not by the kernel: the counters say so.
        expect(f?.title).toBe('process001 killed by signal 9 from outside (not out of memory)');
        expect(f?.detail).toMatch(/peak (8\d|9\d|1\d\d) MiB/);
      } finally {
        await monitor.stop();
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
