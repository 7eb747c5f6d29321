// CPU facts for the scheduler: model, logical and physical cores, and a container's CPU quota (a
// cgroup limit of 2 CPUs on a 64-core host should not start 64 workers).

import { readFileSync } from 'node:fs';
import os from 'node:os';
import { systemInformation } from './systemInformation';

export interface CpuInfo {
  model: string;
  /** Cores this process may run on (CPU affinity respected). */
  logicalCores: number;
  physicalCores: number;
  /** A cgroup CPU quota in cores (e.g. 2.5), when one is set. */
  quotaCores?: number;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    timer.unref();
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(null);
      },
    );
  });
}

/** cgroup v2 `cpu.max` ("200000 100000" or "max 100000") or v1 cfs quota/period; undefined without a limit. */
export function readCgroupCpuQuota(root = '/sys/fs/cgroup'): number | undefined {
  const read = (file: string): string | null => {
    try {
      return readFileSync(`${root}/${file}`, 'utf8').trim();
    } catch {
      return null;
    }
  };
  const v2 = read('cpu.max');
  if (v2) {
    const [quota, period] = v2.split(/\s+/);
    if (quota !== 'max' && Number(quota) > 0 && Number(period) > 0) return Number(quota) / Number(period);
    return undefined;
  }
  const quota = Number(read('cpu/cpu.cfs_quota_us') ?? read('cpu,cpuacct/cpu.cfs_quota_us'));
  const period = Number(read('cpu/cpu.cfs_period_us') ?? read('cpu,cpuacct/cpu.cfs_period_us'));
  if (quota > 0 && period > 0) return quota / period;
  return undefined;
}

export async function detectCpu(): Promise<{ cpu: CpuInfo; fromSystemInformation: boolean }> {
  const cpus = os.cpus();
  const logicalCores = Math.max(1, os.availableParallelism?.() ?? cpus.length);
  // os.cpus() does not know physical cores. On Linux /proc/cpuinfo does, read in microseconds;
  // elsewhere systeminformation asks the system (lscpu, sysctl, WMI: subprocesses, ~50 ms).
  const fromProc = process.platform === 'linux' ? linuxPhysicalCores() : null;
  if (fromProc !== null) {
    const quotaCores = readCgroupCpuQuota();
    const cpu: CpuInfo = {
      model: (cpus[0]?.model ?? '').trim() || 'unknown CPU',
      logicalCores,
      physicalCores: Math.min(fromProc, logicalCores),
      ...(quotaCores !== undefined && quotaCores < logicalCores ? { quotaCores } : {}),
    };
    return { cpu, fromSystemInformation: false };
  }
  const info = await withTimeout(
    systemInformation().then((si) => si.cpu()),
    3000,
  );
  const siModel = info ? `${info.manufacturer ?? ''} ${info.brand ?? ''}`.trim() : '';
  const model = (cpus[0]?.model ?? '').trim() || siModel || 'unknown CPU';
  const physical = info?.physicalCores && info.physicalCores > 0 ? info.physicalCores : logicalCores;
  const quotaCores = process.platform === 'linux' ? readCgroupCpuQuota() : undefined;
  const cpu: CpuInfo = {
    model,
    logicalCores,
    physicalCores: Math.min(physical, logicalCores),
    ...(quotaCores !== undefined && quotaCores < logicalCores ? { quotaCores } : {}),
  };
  return { cpu, fromSystemInformation: info !== null };
}

/** Distinct (physical id, core id) pairs of /proc/cpuinfo; null when it does not say. */
export function linuxPhysicalCores(text?: string): number | null {
  let cpuinfo = text;
  if (cpuinfo === undefined) {
    try {
      cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return null;
    }
  }
  const cores = new Set<string>();
  for (const block of cpuinfo.split(/\n\s*\n/)) {
    const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
    if (core === undefined) continue;
    cores.add(`${/^physical id\s*:\s*(\d+)/m.exec(block)?.[1] ?? '0'}:${core}`);
  }
  return cores.size > 0 ? cores.size : null;
}
