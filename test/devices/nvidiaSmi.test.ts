import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  parseIntValue,
  parseListOutput,
  parseMemoryBytes,
  parsePercent,
  parseQueryCsv,
} from '../../src/engine/devices/nvidiaSmi';

const fakeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/nvidia-smi');
const fields = ['index', 'uuid', 'name', 'memory.total'];

function fake(args: string[], gpus: number, extra: Record<string, string> = {}): string {
  return execFileSync(path.join(fakeDir, 'nvidia-smi'), args, {
    env: { ...process.env, FAKE_NVIDIA_SMI_GPUS: String(gpus), ...extra },
    encoding: 'utf8',
  });
}

describe('parseQueryCsv', () => {
  it('reads every --format variant of the stand-in nvidia-smi alike', () => {
    const formats = ['csv', 'csv,noheader', 'csv,nounits', 'csv,noheader,nounits'];
    const parsed = formats.map((format) => {
      const out = fake([`--query-gpu=${fields.join(',')}`, `--format=${format}`], 3);
      const rows = parseQueryCsv(out, fields);
      return rows.map((r) => ({
        index: parseIntValue(r.index),
        uuid: r.uuid,
        name: r.name,
        mem: parseMemoryBytes(r['memory.total']),
      }));
    });
    expect(parsed[0]).toHaveLength(3);
    expect(parsed[0][2]).toEqual({
      index: 2,
      uuid: 'GPU-6f7a0002-1b2c-4d5e-8f90-abcdef000002',
      name: 'NVIDIA H100 80GB HBM3',
      mem: 81559 * 1024 * 1024,
    });
    for (const p of parsed) expect(p).toEqual(parsed[0]);
  });

  it('reads real nvidia-smi output with a header, units and [N/A] values', () => {
    const out = [
      'index, uuid, name, memory.total [MiB]',
      '0, GPU-aaaa, Tesla T4, 15360 MiB',
      '1, GPU-bbbb, NVIDIA A100-SXM4-40GB, [N/A]',
      '',
    ].join('\n');
    const rows = parseQueryCsv(out, fields);
    expect(rows).toEqual([
      { index: '0', uuid: 'GPU-aaaa', name: 'Tesla T4', 'memory.total': '15360 MiB' },
      { index: '1', uuid: 'GPU-bbbb', name: 'NVIDIA A100-SXM4-40GB', 'memory.total': null },
    ]);
    expect(parseMemoryBytes(rows[1]['memory.total'])).toBeNull();
  });

  it('keeps a comma inside a GPU name in the name field', () => {
    const rows = parseQueryCsv('3, GPU-cccc, Quadro RTX 8000, Rev. B, 48601\n', fields);
    expect(rows[0]).toEqual({
      index: '3',
      uuid: 'GPU-cccc',
      name: 'Quadro RTX 8000, Rev. B',
      'memory.total': '48601',
    });
  });

  it('ignores messages that are not rows', () => {
    expect(parseQueryCsv('No devices were found\n', fields)).toEqual([]);
  });

  it('honours the order of the requested fields', () => {
    const f = ['utilization.gpu', 'memory.used', 'index'];
    const out = fake([`--query-gpu=${f.join(',')}`, '--format=csv'], 2, {
      FAKE_NVIDIA_SMI_UTIL: '35,80',
      FAKE_NVIDIA_SMI_MEM_USED: '1024,2048',
    });
    const rows = parseQueryCsv(out, f);
    expect(rows.map((r) => parsePercent(r['utilization.gpu']))).toEqual([35, 80]);
    expect(rows.map((r) => parseMemoryBytes(r['memory.used']))).toEqual([1024 * 1024 ** 2, 2048 * 1024 ** 2]);
    expect(rows.map((r) => parseIntValue(r.index))).toEqual([0, 1]);
  });
});

describe('number parsers', () => {
  it('parses units and missing values', () => {
    expect(parseMemoryBytes('1 GiB')).toBe(1024 ** 3);
    expect(parseMemoryBytes('512')).toBe(512 * 1024 ** 2);
    expect(parseMemoryBytes(null)).toBeNull();
    expect(parsePercent('35 %')).toBe(35);
    expect(parsePercent('7')).toBe(7);
    expect(parseIntValue('[N/A]')).toBeNull();
  });
});

describe('parseListOutput', () => {
  it('reads -L from the stand-in and from a MIG machine', () => {
    const out = fake(['-L'], 2);
    expect(parseListOutput(out)).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-6f7a0000-1b2c-4d5e-8f90-abcdef000000' },
      { index: 1, name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-6f7a0001-1b2c-4d5e-8f90-abcdef000001' },
    ]);
    const mig = [
      'GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5d5ba0d6)',
      '  MIG 1g.5gb      Device  0: (UUID: MIG-c6d4f1ef)',
    ].join('\n');
    expect(parseListOutput(mig)).toEqual([{ index: 0, name: 'NVIDIA A100-SXM4-40GB', uuid: 'GPU-5d5ba0d6' }]);
  });
});
