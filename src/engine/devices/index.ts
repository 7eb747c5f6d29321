// Which CPUs and GPUs a run may use, and how many workers that makes. `prs devices` prints
// formatDevices(); the leader uses schedulerGpus, resolveProcessCount and GpuAssigner.

import { type CpuInfo, detectCpu } from './cpu';
import { applyCudaVisibleDevices } from './cudaVisible';
import { parseIntValue, parseListOutput, parseMemoryBytes, parseQueryCsv, runNvidiaSmi } from './nvidiaSmi';
import { systemInformation } from './systemInformation';

export { GpuAssigner, gpuEnv } from './assigner';
export { applyCudaVisibleDevices } from './cudaVisible';
export type { CpuInfo } from './cpu';
export {
  parseIntValue,
  parseListOutput,
  parseMemoryBytes,
  parsePercent,
  parseQueryCsv,
  runNvidiaSmi,
} from './nvidiaSmi';

export interface GpuInfo {
  index: number;
  uuid?: string;
  name: string;
  /** 0 when nvidia-smi could not say (`-L` only, or "[N/A]"). */
  memoryTotalBytes: number;
}

export interface DeviceInfo {
  cpu: CpuInfo;
  /** Every GPU nvidia-smi lists, by its index. */
  gpus: GpuInfo[];
  /** Indexes left after a CUDA_VISIBLE_DEVICES set before start, before the spec's `gpus`. */
  usableGpus: number[];
  /** The CUDA_VISIBLE_DEVICES found in the environment, when set. */
  cudaVisibleDevices?: string;
  /** Where the facts came from: 'os', 'systeminformation', 'nvidia-smi'. */
  sources: string[];
  /** Things a user may want to know: nvidia-smi failing, entries of CUDA_VISIBLE_DEVICES ignored. */
  notes: string[];
}

const GPU_FIELDS = ['index', 'uuid', 'name', 'memory.total'];

async function detectGpus(
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ gpus: GpuInfo[]; notes: string[]; missing: boolean; answered: boolean }> {
  const query = await runNvidiaSmi(
    [`--query-gpu=${GPU_FIELDS.join(',')}`, '--format=csv,noheader,nounits'],
    env,
    timeoutMs,
  );
  if (query.missing) return { gpus: [], notes: [], missing: true, answered: false };
  if (query.ok) {
    const gpus: GpuInfo[] = [];
    for (const row of parseQueryCsv(query.stdout, GPU_FIELDS)) {
      const index = parseIntValue(row.index);
      if (index === null) continue;
      gpus.push({
        index,
        name: row.name ?? `GPU ${index}`,
        memoryTotalBytes: parseMemoryBytes(row['memory.total']) ?? 0,
        ...(row.uuid ? { uuid: row.uuid } : {}),
      });
    }
    return { gpus, notes: [], missing: false, answered: true };
  }
  if (/No devices were found/i.test(query.error))
    return { gpus: [], notes: [], missing: false, answered: true };
  // Old drivers that refuse a field still answer -L; one that hangs is not asked twice.
  const list = query.timedOut ? query : await runNvidiaSmi(['-L'], env, timeoutMs);
  if (list.ok) {
    const gpus = parseListOutput(list.stdout).map((g) => ({ ...g, memoryTotalBytes: 0 }));
    return { gpus, notes: [query.error], missing: false, answered: true };
  }
  return { gpus: [], notes: [`${query.error}; workers run without GPUs`], missing: false, answered: false };
}

/** NVIDIA controllers systeminformation sees (through lspci), to explain a missing nvidia-smi. */
async function nvidiaControllers(timeoutMs: number): Promise<string[]> {
  const result = await Promise.race([
    systemInformation()
      .then((si) => si.graphics())
      .catch(() => null),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), timeoutMs).unref()),
  ]);
  return (result?.controllers ?? [])
    .filter((c) => /nvidia/i.test(`${c.vendor} ${c.model}`))
    .map((c) => c.model || 'NVIDIA GPU');
}

export interface DetectOptions {
  /** Skip nvidia-smi (50 ms to seconds): the caller will use no GPU. */
  skipGpus?: boolean;
  /**
   * Without nvidia-smi, ask systeminformation (lspci and friends, ~50 ms of subprocesses) whether
   * NVIDIA hardware is there anyway, to explain it. `prs devices` and the app do; a run starting
   * only when its spec names GPUs (it then fails, and the note says why).
   */
  explainMissingDriver?: boolean;
}

/**
 * Detects CPUs and GPUs. GPUs come from nvidia-smi (found on `env.PATH`, ~3 s deadline): no
 * nvidia-smi means no GPUs, not an error. CUDA_VISIBLE_DEVICES in `env` narrows `usableGpus`.
 */
export async function detectDevices(
  env: NodeJS.ProcessEnv = process.env,
  options: DetectOptions = {},
): Promise<DeviceInfo> {
  const timeoutMs = 3000;
  const noGpus = {
    gpus: [],
    notes: ['GPUs were not looked for (none wanted)'],
    missing: false,
    answered: false,
  };
  const [{ cpu, fromSystemInformation }, gpuResult] = await Promise.all([
    detectCpu(),
    options.skipGpus ? noGpus : detectGpus(env, timeoutMs),
  ]);
  const sources = ['os'];
  if (fromSystemInformation) sources.push('systeminformation');
  if (gpuResult.answered) sources.push('nvidia-smi');
  const notes = [...gpuResult.notes];
  if (gpuResult.missing && options.explainMissingDriver !== false) {
    const seen = await nvidiaControllers(timeoutMs);
    if (seen.length > 0) {
      notes.push(
        `systeminformation sees ${seen.join(', ')} but nvidia-smi is not on PATH: ` +
          'install the NVIDIA driver (or put nvidia-smi on PATH) to use GPUs; workers run without GPUs',
      );
    }
  }
  const cudaVisibleDevices = env.CUDA_VISIBLE_DEVICES;
  const visible = applyCudaVisibleDevices(cudaVisibleDevices, gpuResult.gpus);
  notes.push(...visible.notes);
  return {
    cpu,
    gpus: gpuResult.gpus,
    usableGpus: visible.usable,
    ...(cudaVisibleDevices !== undefined ? { cudaVisibleDevices } : {}),
    sources,
    notes,
  };
}

/**
 * The GPU indexes workers may take, from the spec's `gpus`: `auto` is every usable GPU, `none` is
 * none, a list must name usable GPUs (problems use the spec's key path, `gpus.<position>`).
 */
export function schedulerGpus(
  devices: DeviceInfo,
  specGpus: 'auto' | 'none' | number[],
): { gpus: number[]; problems: string[] } {
  if (specGpus === 'none') return { gpus: [], problems: [] };
  if (specGpus === 'auto') return { gpus: [...devices.usableGpus], problems: [] };
  const usable = devices.usableGpus.length > 0 ? devices.usableGpus.join(', ') : 'none';
  const gpus: number[] = [];
  const problems: string[] = [];
  specGpus.forEach((gpu, i) => {
    if (!Number.isInteger(gpu) || gpu < 0) {
      problems.push(`gpus.${i}: ${String(gpu)} is not a GPU index (expected a whole number >= 0)`);
    } else if (gpus.includes(gpu)) {
      problems.push(`gpus.${i}: GPU ${gpu} is listed twice`);
    } else if (!devices.usableGpus.includes(gpu)) {
      const why =
        devices.gpus.some((g) => g.index === gpu) && devices.cudaVisibleDevices !== undefined
          ? `hidden by CUDA_VISIBLE_DEVICES=${devices.cudaVisibleDevices}; `
          : '';
      problems.push(`gpus.${i}: GPU ${gpu} is not available (${why}usable: ${usable})`);
    } else {
      gpus.push(gpu);
    }
  });
  return { gpus, problems };
}

/** Cores the scheduler counts on a CPU machine: logical cores, capped by a container's CPU quota. */
export function usableCores(devices: DeviceInfo): number {
  const { logicalCores, quotaCores } = devices.cpu;
  const cores = quotaCores !== undefined ? Math.min(logicalCores, Math.floor(quotaCores)) : logicalCores;
  return Math.max(1, cores);
}

/** `process_count_per_node`: a number as given; `auto` is one worker per GPU in use, else one per core. */
export function resolveProcessCount(spec: 'auto' | number, devices: DeviceInfo, gpus: number[]): number {
  if (spec !== 'auto') return spec;
  return gpus.length > 0 ? gpus.length : usableCores(devices);
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** What `prs devices` prints: the hardware, what CUDA_VISIBLE_DEVICES leaves, and the plan. */
export function formatDevices(devices: DeviceInfo, gpus: number[], processCount: number): string {
  const lines: string[] = [];
  const { cpu } = devices;
  lines.push(
    `CPU   ${cpu.model}: ${cpu.logicalCores} logical cores, ${cpu.physicalCores} physical` +
      (cpu.quotaCores !== undefined ? ` (container quota: ${cpu.quotaCores} cores)` : ''),
  );
  if (devices.gpus.length === 0) {
    lines.push(
      'GPUs  none found' + (devices.sources.includes('nvidia-smi') ? ' (nvidia-smi)' : ' (no nvidia-smi)'),
    );
  } else {
    lines.push(`GPUs  ${devices.gpus.length} (nvidia-smi)`);
    for (const g of devices.gpus) {
      const mark = gpus.includes(g.index) ? '*' : devices.usableGpus.includes(g.index) ? ' ' : '-';
      const memory = g.memoryTotalBytes > 0 ? gib(g.memoryTotalBytes) : 'memory unknown';
      lines.push(`  ${mark} ${g.index}  ${g.name}  ${memory}${g.uuid ? `  ${g.uuid}` : ''}`);
    }
    lines.push('      (* used by the scheduler, - hidden by CUDA_VISIBLE_DEVICES)');
  }
  if (devices.cudaVisibleDevices !== undefined) {
    const usable = devices.usableGpus.length > 0 ? devices.usableGpus.join(', ') : 'none';
    lines.push(
      `CUDA_VISIBLE_DEVICES=${devices.cudaVisibleDevices} was set before start: usable GPUs ${usable}`,
    );
  }
  for (const note of devices.notes) lines.push(`note: ${note}`);
  lines.push('');
  if (gpus.length > 0) {
    const perWorker = `workers take GPU ${gpus.join(', ')} as CUDA_VISIBLE_DEVICES, one each`;
    const beyond = processCount > gpus.length ? `; ${processCount - gpus.length} more get no GPU index` : '';
    lines.push(
      `Scheduler: ${processCount} worker process${processCount === 1 ? '' : 'es'} per node; ${perWorker}${beyond}`,
    );
  } else {
    lines.push(
      `Scheduler: ${processCount} worker process${processCount === 1 ? '' : 'es'} per node on CPU (no GPU in use)`,
    );
  }
  return lines.join('\n') + '\n';
}
