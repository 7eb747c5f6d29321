// GPU utilisation and memory, from one nvidia-smi call per sample for the whole node (not per
// worker). That is one short subprocess a second, about 1-3 ms of the leader's CPU to start and
// read: acceptable, and only on machines where the scheduler uses GPUs. NVML bindings would avoid it
// but need a native module. A call still running when the next sample is due is not doubled: the
// sample reuses the last answer.

import type { GpuSample } from '../../common/events';
import {
  parseIntValue,
  parseMemoryBytes,
  parsePercent,
  parseQueryCsv,
  runNvidiaSmi,
} from '../devices/nvidiaSmi';

const FIELDS = ['index', 'utilization.gpu', 'memory.used', 'memory.total'];

export class GpuSampler {
  private last: GpuSample[] = [];
  private inFlight: Promise<GpuSample[]> | null = null;
  private disabled = false;

  constructor(
    private readonly gpus: number[],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async sample(): Promise<GpuSample[]> {
    if (this.gpus.length === 0 || this.disabled) return [];
    if (this.inFlight) return this.last;
    this.inFlight = this.query();
    try {
      this.last = await this.inFlight;
    } finally {
      this.inFlight = null;
    }
    return this.last;
  }

  /** Waits for a call still running (so stop() leaves no subprocess behind). */
  async settle(): Promise<void> {
    if (this.inFlight) await this.inFlight.catch(() => undefined);
  }

  private async query(): Promise<GpuSample[]> {
    const r = await runNvidiaSmi(
      [`--query-gpu=${FIELDS.join(',')}`, '--format=csv,noheader,nounits'],
      this.env,
      2000,
    );
    if (r.missing) {
      this.disabled = true;
      return [];
    }
    if (!r.ok) return this.last;
    const out: GpuSample[] = [];
    for (const row of parseQueryCsv(r.stdout, FIELDS)) {
      const index = parseIntValue(row.index);
      if (index === null || !this.gpus.includes(index)) continue;
      out.push({
        index,
        utilPercent: parsePercent(row['utilization.gpu']) ?? 0,
        memUsedBytes: parseMemoryBytes(row['memory.used']) ?? 0,
        memTotalBytes: parseMemoryBytes(row['memory.total']) ?? 0,
      });
    }
    return out.sort((a, b) => a.index - b.index);
  }
}
