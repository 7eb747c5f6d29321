import { accessSync, chmodSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DeviceInfo,
  GpuAssigner,
  applyCudaVisibleDevices,
  detectDevices,
  formatDevices,
  gpuEnv,
  resolveProcessCount,
  schedulerGpus,
} from '../../src/engine/devices';

const fakeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/nvidia-smi');
const emptyDir = mkdtempSync(path.join(os.tmpdir(), 'prs-devices-'));
afterAll(() => rmSync(emptyDir, { recursive: true, force: true }));

/** An environment whose PATH finds the stand-in nvidia-smi first. */
function fakeEnv(gpus: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${fakeDir}${path.delimiter}${process.env.PATH ?? ''}`,
    FAKE_NVIDIA_SMI_GPUS: String(gpus),
    ...extra,
  };
  delete env.CUDA_VISIBLE_DEVICES;
  if (extra.CUDA_VISIBLE_DEVICES !== undefined) env.CUDA_VISIBLE_DEVICES = extra.CUDA_VISIBLE_DEVICES;
  return env;
}

describe('detectDevices', () => {
  it('finds no GPU and reports no error when nvidia-smi is missing', async () => {
    const d = await detectDevices({ PATH: emptyDir });
    expect(d.gpus).toEqual([]);
    expect(d.usableGpus).toEqual([]);
    expect(d.sources).not.toContain('nvidia-smi');
    expect(d.cpu.logicalCores).toBeGreaterThanOrEqual(1);
    expect(d.cpu.physicalCores).toBeGreaterThanOrEqual(1);
    expect(d.cpu.physicalCores).toBeLessThanOrEqual(d.cpu.logicalCores);
    expect(d.cpu.model).not.toBe('');
  });

  it('does not ask nvidia-smi when no GPU is wanted, and says so', async () => {
    const log = path.join(emptyDir, 'skip.log');
    const d = await detectDevices(fakeEnv(2, { FAKE_NVIDIA_SMI_LOG: log }), { skipGpus: true });
    expect(existsSync(log)).toBe(false);
    expect(d.gpus).toEqual([]);
    expect(d.sources).not.toContain('nvidia-smi');
    expect(d.notes).toEqual(['GPUs were not looked for (none wanted)']);
  });

  it('finds 0 GPUs when nvidia-smi answers "No devices were found"', async () => {
    const d = await detectDevices(fakeEnv(0));
    expect(d.gpus).toEqual([]);
    expect(d.sources).toContain('nvidia-smi');
    expect(d.notes).toEqual([]);
  });

  it('finds 1 GPU', async () => {
    const d = await detectDevices(fakeEnv(1));
    expect(d.gpus).toEqual([
      {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        memoryTotalBytes: 81559 * 1024 ** 2,
        uuid: 'GPU-6f7a0000-1b2c-4d5e-8f90-abcdef000000',
      },
    ]);
    expect(d.usableGpus).toEqual([0]);
    expect(d.cudaVisibleDevices).toBeUndefined();
  });

  it('finds several GPUs', async () => {
    const d = await detectDevices(fakeEnv(4));
    expect(d.gpus.map((g) => g.index)).toEqual([0, 1, 2, 3]);
    expect(d.usableGpus).toEqual([0, 1, 2, 3]);
  });

  it('keeps GPUs whose memory is [N/A]', async () => {
    const d = await detectDevices(fakeEnv(2, { FAKE_NVIDIA_SMI_NA: 'memory.total' }));
    expect(d.gpus.map((g) => [g.index, g.memoryTotalBytes])).toEqual([
      [0, 0],
      [1, 0],
    ]);
  });

  it('limits usable GPUs to a CUDA_VISIBLE_DEVICES set before start, by index or UUID', async () => {
    const byIndex = await detectDevices(fakeEnv(4, { CUDA_VISIBLE_DEVICES: '2,0' }));
    expect(byIndex.gpus).toHaveLength(4);
    expect(byIndex.usableGpus).toEqual([2, 0]);
    expect(byIndex.cudaVisibleDevices).toBe('2,0');
    const byUuid = await detectDevices(fakeEnv(4, { CUDA_VISIBLE_DEVICES: 'GPU-6f7a0003,1' }));
    expect(byUuid.usableGpus).toEqual([3, 1]);
    const none = await detectDevices(fakeEnv(4, { CUDA_VISIBLE_DEVICES: '' }));
    expect(none.usableGpus).toEqual([]);
  });

  it('reports a failing driver as a note and runs on CPU', async () => {
    const d = await detectDevices(fakeEnv(2, { FAKE_NVIDIA_SMI_FAIL: '1' }));
    expect(d.gpus).toEqual([]);
    expect(d.notes.join('\n')).toMatch(/couldn't communicate with the NVIDIA driver/);
  });

  it('gives up on an nvidia-smi that hangs after about 3 s', async () => {
    const t0 = Date.now();
    const d = await detectDevices(fakeEnv(2, { FAKE_NVIDIA_SMI_SLEEP: '30' }));
    const took = Date.now() - t0;
    expect(d.gpus).toEqual([]);
    expect(d.notes.join('\n')).toMatch(/did not answer within 3 s/);
    // Gave up rather than waiting out the 30 s hang; the margin over 3 s is for a loaded machine.
    expect(took).toBeLessThan(10_000);
  });

  it('falls back to -L when the query fails', async () => {
    // An older nvidia-smi that refuses the query but lists GPUs: a wrapper around the stand-in.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'prs-oldsmi-'));
    const script = path.join(dir, 'nvidia-smi');
    writeFileSync(
      script,
      `#!/bin/sh\ncase "$1" in --query-gpu=*) echo 'Field "uuid" is not a valid field to query.'; exit 2;; esac\nexec "${fakeDir}/nvidia-smi" "$@"\n`,
    );
    chmodSync(script, 0o755);
    try {
      const d = await detectDevices({
        ...fakeEnv(2),
        PATH: `${dir}${path.delimiter}${process.env.PATH ?? ''}`,
      });
      expect(d.gpus.map((g) => [g.index, g.memoryTotalBytes])).toEqual([
        [0, 0],
        [1, 0],
      ]);
      expect(d.notes.join('\n')).toMatch(/not a valid field/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('applyCudaVisibleDevices', () => {
  const gpus = [0, 1, 2].map((index) => ({ index, uuid: `GPU-${index}abc-${index}` }));
  it('stops at the first entry that names no GPU, as CUDA does', () => {
    const r = applyCudaVisibleDevices('1,7,0', gpus);
    expect(r.usable).toEqual([1]);
    expect(r.notes[0]).toMatch(/"7" names no GPU/);
  });
  it('hides everything for -1', () => {
    expect(applyCudaVisibleDevices('-1', gpus).usable).toEqual([]);
  });
  it('rejects an ambiguous UUID prefix', () => {
    expect(applyCudaVisibleDevices('GPU-', gpus).usable).toEqual([]);
    expect(applyCudaVisibleDevices('GPU-2', gpus).usable).toEqual([2]);
  });
  it('leaves every GPU when unset', () => {
    expect(applyCudaVisibleDevices(undefined, gpus).usable).toEqual([0, 1, 2]);
  });
});

function devices(usable: number[], all = usable, cores = 8, cuda?: string): DeviceInfo {
  return {
    cpu: { model: 'Test CPU', logicalCores: cores, physicalCores: cores / 2 },
    gpus: all.map((index) => ({ index, name: 'Test GPU', memoryTotalBytes: 16 * 1024 ** 3 })),
    usableGpus: usable,
    ...(cuda !== undefined ? { cudaVisibleDevices: cuda } : {}),
    sources: ['os'],
    notes: [],
  };
}

describe('schedulerGpus', () => {
  it('auto takes every usable GPU, none takes none', () => {
    expect(schedulerGpus(devices([0, 1]), 'auto')).toEqual({ gpus: [0, 1], problems: [] });
    expect(schedulerGpus(devices([0, 1]), 'none')).toEqual({ gpus: [], problems: [] });
  });
  it('checks a list against the usable GPUs', () => {
    expect(schedulerGpus(devices([0, 1]), [1])).toEqual({ gpus: [1], problems: [] });
    expect(schedulerGpus(devices([0, 1]), [0, 3])).toEqual({
      gpus: [0],
      problems: ['gpus.1: GPU 3 is not available (usable: 0, 1)'],
    });
    expect(schedulerGpus(devices([]), [0]).problems).toEqual([
      'gpus.0: GPU 0 is not available (usable: none)',
    ]);
    expect(schedulerGpus(devices([0, 1]), [1, 1]).problems).toEqual(['gpus.1: GPU 1 is listed twice']);
    expect(schedulerGpus(devices([0, 1]), [-1]).problems[0]).toMatch(/^gpus\.0: -1 is not a GPU index/);
  });
  it('says when CUDA_VISIBLE_DEVICES hides a listed GPU', () => {
    expect(schedulerGpus(devices([1], [0, 1], 8, '1'), [0]).problems).toEqual([
      'gpus.0: GPU 0 is not available (hidden by CUDA_VISIBLE_DEVICES=1; usable: 1)',
    ]);
  });
});

describe('resolveProcessCount', () => {
  it('auto: one worker per GPU on a GPU machine, else one per core', () => {
    expect(resolveProcessCount('auto', devices([0, 1, 2]), [0, 1, 2])).toBe(3);
    expect(resolveProcessCount('auto', devices([0, 1, 2]), [1])).toBe(1);
    expect(resolveProcessCount('auto', devices([], [], 12), [])).toBe(12);
    // gpus: none on a GPU machine runs on cores.
    expect(resolveProcessCount('auto', devices([0, 1], [0, 1], 6), [])).toBe(6);
  });
  it('auto respects a container CPU quota', () => {
    const d = devices([], [], 64);
    d.cpu.quotaCores = 2.5;
    expect(resolveProcessCount('auto', d, [])).toBe(2);
    d.cpu.quotaCores = 0.5;
    expect(resolveProcessCount('auto', d, [])).toBe(1);
  });
  it('a number is taken as given', () => {
    expect(resolveProcessCount(5, devices([0, 1]), [0, 1])).toBe(5);
  });
});

describe('GpuAssigner', () => {
  it('hands GPUs over exactly as the reference example: 2 GPUs, 4 processes', () => {
    const a = new GpuAssigner([0, 1]);
    expect(a.acquire('process000')).toBe(0);
    expect(a.acquire('process001')).toBe(1);
    expect(a.acquire('process002')).toBeNull();
    expect(a.acquire('process003')).toBeNull();
    a.release('process000');
    expect(a.acquire('process004')).toBe(0);
    expect(a.assignments()).toEqual({ process001: 1, process002: null, process003: null, process004: 0 });
  });
  it('a worker without a GPU that stops frees nothing; later workers take released indexes in turn', () => {
    const a = new GpuAssigner([2, 5]);
    a.acquire('p0');
    a.acquire('p1');
    a.acquire('p2');
    a.release('p2');
    expect(a.acquire('p3')).toBeNull();
    a.release('p1');
    expect(a.free()).toEqual([5]);
    expect(a.acquire('p4')).toBe(5);
    expect(a.acquire('p4')).toBe(5); // asking again changes nothing
    expect(a.free()).toEqual([]);
  });
  it('without GPUs every worker gets none', () => {
    const a = new GpuAssigner([]);
    expect(a.acquire('process000')).toBeNull();
  });
  it('gpuEnv sets CUDA_VISIBLE_DEVICES only for a worker with a GPU', () => {
    expect(gpuEnv(1, {})).toEqual({ CUDA_VISIBLE_DEVICES: '1', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' });
    expect(gpuEnv(null, {})).toEqual({});
    expect(gpuEnv(0, { CUDA_DEVICE_ORDER: 'FASTEST_FIRST' }).CUDA_DEVICE_ORDER).toBe('FASTEST_FIRST');
  });

  it('hands over to a replacement worker on GPUs found through the stand-in nvidia-smi', async () => {
    const d = await detectDevices(fakeEnv(2));
    const { gpus } = schedulerGpus(d, 'auto');
    const count = resolveProcessCount(4, d, gpus);
    const a = new GpuAssigner(gpus);
    const started = Array.from({ length: count }, (_, i) => a.acquire(`process00${i}`));
    expect(started).toEqual([0, 1, null, null]);
    a.release('process000'); // killed, say
    expect(a.acquire('process004')).toBe(0);
  });
});

describe('formatDevices', () => {
  it('prints the GPUs, what CUDA_VISIBLE_DEVICES hides, and the plan', async () => {
    const d = await detectDevices(fakeEnv(3, { CUDA_VISIBLE_DEVICES: '0,2' }));
    const text = formatDevices(d, [0, 2], 4);
    expect(text).toContain('GPUs  3 (nvidia-smi)');
    expect(text).toMatch(/\* 0 {2}NVIDIA H100 80GB HBM3 {2}79\.6 GiB/);
    expect(text).toMatch(/- 1 {2}NVIDIA H100/);
    expect(text).toContain('CUDA_VISIBLE_DEVICES=0,2 was set before start: usable GPUs 0, 2');
    expect(text).toContain(
      '4 worker processes per node; workers take GPU 0, 2 as CUDA_VISIBLE_DEVICES, one each; 2 more get no GPU index',
    );
  });
  it('prints a CPU-only plan', () => {
    const text = formatDevices(devices([], [], 8), [], 8);
    expect(text).toContain('CPU   Test CPU: 8 logical cores, 4 physical');
    expect(text).toContain('GPUs  none found (no nvidia-smi)');
    expect(text).toContain('8 worker processes per node on CPU');
  });
});

// The stand-in must stay executable; a checkout that loses the bit would make every GPU test pass as "no GPUs".
it('the stand-in nvidia-smi is executable', () => {
  expect(() => accessSync(path.join(fakeDir, 'nvidia-smi'), constants.X_OK)).not.toThrow();
});
