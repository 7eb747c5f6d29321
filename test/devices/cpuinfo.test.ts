import { describe, expect, it } from 'vitest';
import { linuxPhysicalCores } from '../../src/engine/devices/cpu';

const block = (proc: number, phys: number, core: number) =>
  `processor\t: ${proc}\nmodel name\t: Test CPU\nphysical id\t: ${phys}\ncore id\t\t: ${core}\n`;

describe('physical cores from /proc/cpuinfo', () => {
  it('counts distinct (socket, core) pairs: hyper-threads and sockets', () => {
    // 2 sockets × 2 cores × 2 threads.
    const text = [
      block(0, 0, 0),
      block(1, 0, 1),
      block(2, 1, 0),
      block(3, 1, 1),
      block(4, 0, 0),
      block(5, 0, 1),
      block(6, 1, 0),
      block(7, 1, 1),
    ].join('\n');
    expect(linuxPhysicalCores(text)).toBe(4);
  });

  it('says nothing when the file has no core ids (some virtual machines, other architectures)', () => {
    expect(
      linuxPhysicalCores('processor\t: 0\nmodel name\t: X\n\nprocessor\t: 1\nmodel name\t: X\n'),
    ).toBeNull();
  });
});
