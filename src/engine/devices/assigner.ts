// GPU hand-over between worker processes, as ParallelRunStep does it: a starting worker takes a free
// GPU index (as CUDA_VISIBLE_DEVICES) while any is free; workers beyond the GPU count get none; a
// worker that stops releases its index and the next worker started takes it. With 2 GPUs and 4
// processes: process000 and process001 take 0 and 1, process002 and process003 get none;
// process000 stops; process004 takes 0.

export class GpuAssigner {
  private readonly gpus: number[];
  private readonly held = new Map<string, number | null>();

  constructor(gpus: number[]) {
    this.gpus = [...new Set(gpus)];
  }

  /**
   * The GPU index for a starting worker, or null when every GPU is taken. Free indexes go out in the
   * order of the list given to the constructor, so a released index is the first one handed out
   * again when it is the lowest free. Asking twice for one process returns what it already holds.
   */
  acquire(process: string): number | null {
    const had = this.held.get(process);
    if (had !== undefined) return had;
    const taken = new Set([...this.held.values()].filter((g): g is number => g !== null));
    const gpu = this.gpus.find((g) => !taken.has(g)) ?? null;
    this.held.set(process, gpu);
    return gpu;
  }

  /** The worker stopped: its index, if any, is free for the next worker started. */
  release(process: string): void {
    this.held.delete(process);
  }

  /** Running workers and the GPU each holds (null: none). */
  assignments(): Record<string, number | null> {
    return Object.fromEntries(this.held);
  }

  /** GPU indexes no running worker holds. */
  free(): number[] {
    const taken = new Set(this.held.values());
    return this.gpus.filter((g) => !taken.has(g));
  }
}

/**
 * The environment changes for a worker given `gpu` (undefined: remove the variable). With a GPU:
 * CUDA_VISIBLE_DEVICES is its index, and CUDA_DEVICE_ORDER=PCI_BUS_ID makes CUDA number devices as
 * nvidia-smi does (CUDA's default, fastest first, can differ on machines with mixed GPUs); a
 * CUDA_DEVICE_ORDER the user set is kept. Without a GPU: the reference sets no variable, so nothing
 * is added; a CUDA_VISIBLE_DEVICES the user set for the whole run is left as it is, so a worker never
 * sees a GPU the user hid.
 */
export function gpuEnv(
  gpu: number | null,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string | undefined> {
  if (gpu === null) return {};
  return { CUDA_VISIBLE_DEVICES: String(gpu), CUDA_DEVICE_ORDER: env.CUDA_DEVICE_ORDER ?? 'PCI_BUS_ID' };
}
