// A CUDA_VISIBLE_DEVICES the user set before starting us limits which GPUs the scheduler may hand
// out. It follows CUDA's own reading of the variable: a comma-separated list of device indexes or
// UUIDs ("GPU-6f7a…", a unique prefix is enough); the list ends at the first entry that names no
// device; an empty value hides every GPU.

export interface GpuRef {
  index: number;
  uuid?: string;
}

export interface CudaVisibleResult {
  /** nvidia-smi indexes of the GPUs the variable leaves visible, in the variable's order. */
  usable: number[];
  /** Entries that were ignored, and why. */
  notes: string[];
}

export function applyCudaVisibleDevices(value: string | undefined, gpus: GpuRef[]): CudaVisibleResult {
  const all = gpus.map((g) => g.index);
  if (value === undefined) return { usable: all, notes: [] };
  const notes: string[] = [];
  const usable: number[] = [];
  const entries = value.split(',').map((e) => e.trim());
  if (value.trim() === '') return { usable: [], notes: ['CUDA_VISIBLE_DEVICES is empty: no GPU is visible'] };
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const index = resolveEntry(entry, gpus);
    if (index === null) {
      const rest = entries.slice(i).join(',');
      notes.push(
        `CUDA_VISIBLE_DEVICES entry "${entry}" names no GPU nvidia-smi lists` +
          (rest !== entry ? `; CUDA ignores it and the rest ("${rest}")` : '; CUDA ignores it'),
      );
      break;
    }
    if (usable.includes(index)) {
      notes.push(`CUDA_VISIBLE_DEVICES lists GPU ${index} twice; CUDA ignores the list from there`);
      break;
    }
    usable.push(index);
  }
  return { usable, notes };
}

function resolveEntry(entry: string, gpus: GpuRef[]): number | null {
  if (/^\d+$/.test(entry)) {
    const n = Number(entry);
    return gpus.some((g) => g.index === n) ? n : null;
  }
  if (/^GPU-/i.test(entry)) {
    const matches = gpus.filter((g) => g.uuid && g.uuid.toLowerCase().startsWith(entry.toLowerCase()));
    return matches.length === 1 ? matches[0].index : null;
  }
  // MIG-… and anything else: not something one index per worker can express.
  return null;
}
