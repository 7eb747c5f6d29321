// The spec check asks of a folder input only whether it holds a matching file: it reads names a
// few at a time and stops at the first, instead of listing (and sorting) a folder of a million
// files on the way to every worker's start. Only the format scan of a tabular folder without a
// format reads folders whole, in name order, so its answer does not depend on the file system.
// The real fs runs; readdir is wrapped only to see which folders were listed whole.
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tempTree, type TempTree } from './fixtures';

const listed = vi.hoisted(() => ({ dirs: [] as string[] }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    readdir: ((dir: string, ...rest: unknown[]) => {
      listed.dirs.push(String(dir));
      return (real.readdir as (...a: unknown[]) => unknown)(dir, ...rest);
    }) as typeof real.readdir,
  };
});

const { loadSpec } = await import('../../src/engine/spec/load');

let t: TempTree;
beforeEach(() => {
  t = tempTree();
  listed.dirs = [];
});
afterEach(() => t.remove());

function spec(input: string): string {
  t.file('job/score.py', 'def run(b): return b\n');
  return t.file('job/job.yaml', `name: walk\nentry_script: score.py\ninputs:\n  - ${input}\n`);
}

describe('loadSpec: a folder input is not listed whole', () => {
  it('finds a file of a big folder without listing it', async () => {
    for (let i = 0; i < 300; i++) t.file(`job/data/sub/f${String(i).padStart(4, '0')}.png`);
    const r = await loadSpec(spec('{path: ./data, pattern: "**/*.png"}'));
    expect(r.ok && r.spec.inputs[0]!.path).toBe(path.join(t.dir, 'job/data'));
    expect(listed.dirs.filter((d) => d.includes(`${path.sep}data`))).toEqual([]);
  });

  it('still tells an empty folder and a pattern that matches nothing', async () => {
    t.file('job/data/a.txt');
    const r = await loadSpec(spec('{path: ./data, pattern: "*.png"}'));
    expect(r.ok ? [] : r.problems).toEqual([
      `inputs.0.pattern: "*.png" matches no file under ${path.join(t.dir, 'job/data')} (expected at least one file)`,
    ]);
  });

  it('reads folders whole and in order only for the format scan', async () => {
    t.file('job/rows/b.csv', 'a\n1\n');
    t.file('job/rows/a.csv', 'a\n2\n');
    const r = await loadSpec(spec('{path: ./rows, type: tabular}'));
    expect(r.ok && r.spec.inputs[0]!.format).toBe('csv');
    expect(listed.dirs).toContain(path.join(t.dir, 'job/rows'));
  });
});
