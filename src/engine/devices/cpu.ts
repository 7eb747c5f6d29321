// CPU facts for the scheduler: model, logical and physical cores, and a container's CPU quota (a
// cgroup limit of 2 CPUs on a 64-core host should not start 64 workers).

import { readFileSync } from 'node:fs';
import os from 'node:os';
import si from 'systeminformation';

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
  // systeminformation knows physical cores (lscpu, sysctl, WMI); os.cpus() does not.
  const info = await withTimeout(si.cpu(), 3000);
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
