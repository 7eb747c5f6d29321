// What the monitor costs the leader: N idle child processes stand in for workers, the monitor
// samples them at 1 Hz for a while, and the leader's own CPU time over that while is the cost.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ResourceMonitor } from './index';

export interface MonitorCost {
  /** The leader's CPU time (user + system) over the wall time, in percent of one core. */
  cpuPercentOfOneCore: number;
  samples: number;
  processes: number;
  seconds: number;
}

function idleChild(): ChildProcess {
  // `sleep` where there is one; a Node child that waits otherwise (Windows).
  return process.platform === 'win32'
    ? spawn(process.execPath, ['-e', 'setTimeout(() => {}, 3600e3)'], { stdio: 'ignore' })
    : spawn('sleep', ['3600'], { stdio: 'ignore' });
}

export async function measureMonitorCost(
  processCount: number,
  seconds: number,
  opts: { gpus?: number[]; intervalS?: number; scanEvery?: number } = {},
): Promise<MonitorCost> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'prs-monitor-cost-'));
  const children = Array.from({ length: processCount }, idleChild);
  try {
    await Promise.all(
      children.map(
        (c) => new Promise<void>((resolve, reject) => c.once('spawn', resolve).once('error', reject)),
      ),
    );
    const monitor = new ResourceMonitor({
      nodeId: 'cost',
      perfDir: path.join(dir, 'logs', 'perf', 'cost'),
      runDir: dir,
      intervalS: opts.intervalS ?? 0,
      sampleMs: 1000,
      gpus: opts.gpus ?? [],
      ...(opts.scanEvery !== undefined ? { scanEvery: opts.scanEvery } : {}),
    });
    monitor.setProcesses(
      children.map((c, i) => ({ process: `process${String(i).padStart(3, '0')}`, pid: c.pid ?? 0 })),
    );
    let samples = 0;
    monitor.onSample(() => samples++);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    monitor.start();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000 + 100));
    await monitor.stop();
    const used = process.cpuUsage(cpu0);
    const wallMs = performance.now() - t0;
    return {
      cpuPercentOfOneCore: ((used.user + used.system) / 1000 / wallMs) * 100,
      samples,
      processes: processCount,
      seconds: wallMs / 1000,
    };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
