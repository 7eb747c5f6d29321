import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planMiniBatches } from '../../src/engine/partition';
import { byteOrder, expectPartitionError, filesOf, makeSpec, plan, tempDir, writeTree } from './helpers';

// Names chosen so that byte order differs from naive orders: "a.txt" < "a/…" ("." 0x2E < "/" 0x2F),
// upper case before lower case, "a-b" before "a.txt", and a non-ASCII name (UTF-8 bytes) last.
const TREE = [
  'a.txt',
  'a/b.txt',
  'a/c/d.txt',
  'a-b.txt',
  'B.txt',
  'a0.txt',
  'é.txt',
  'z/y/x.txt',
  'Z.txt',
  'a/B.txt',
];

describe('file inputs', () => {
  it('walks a folder recursively in byte-wise order of the relative path, mini_batch_size files each', async () => {
    const root = tempDir();
    writeTree(root, Object.fromEntries(TREE.map((f, i) => [f, 'x'.repeat(i + 1)])));
    const batches = await plan(makeSpec([{ path: root }], { mini_batch_size: 3 }));
    const expected = byteOrder(TREE);
    expect(expected.slice(0, 4)).toEqual(['B.txt', 'Z.txt', 'a-b.txt', 'a.txt']);
    expect(batches.map((b) => b.id)).toEqual([0, 1, 2, 3]);
    expect(batches.map((b) => b.items)).toEqual([3, 3, 3, 1]);
    expect(batches.flatMap(filesOf)).toEqual(expected.map((r) => path.join(root, r)));
    for (const b of batches) {
      // File sizes are not read while planning (a stat per file would slow the leader).
      expect(b.bytes).toBe(0);
      expect(b.partition_key_value).toBeUndefined();
    }
  });

  it('orders names whose UTF-16 order is not their byte order by their bytes: U+E000 before U+1F600', async () => {
    // As strings U+1F600 (the surrogates D83D DE00) sorts before U+E000; as UTF-8 (F0 9F 98 80 against
    // EE 80 80) after it. A folder of ASCII names alone sorts as strings, which agree with bytes there.
    const names = ['\u{1F600}.txt', '\uE000.txt', 'b.txt', 'a/\u{1F600}', 'a/\uE000', 'a/~', 'a.txt'];
    const root = tempDir();
    writeTree(root, Object.fromEntries(names.map((f) => [f, 'x'])));
    const batches = await plan(makeSpec([{ path: root }], { mini_batch_size: 100 }));
    const expected = byteOrder(names);
    expect(expected).toEqual([
      'a.txt',
      'a/~',
      'a/\uE000',
      'a/\u{1F600}',
      'b.txt',
      '\uE000.txt',
      '\u{1F600}.txt',
    ]);
    expect(batches.flatMap(filesOf)).toEqual(expected.map((r) => path.join(root, r)));
  });

  it('takes a single file as one mini-batch', async () => {
    const root = tempDir();
    writeTree(root, { 'one.bin': 'hello' });
    const batches = await plan(makeSpec([{ path: path.join(root, 'one.bin') }]));
    expect(batches).toEqual([
      { id: 0, items: 1, bytes: 0, sources: [{ kind: 'files', files: [path.join(root, 'one.bin')] }] },
    ]);
  });

  it('expands a glob from its base folder, and filters a folder by pattern', async () => {
    const root = tempDir();
    writeTree(root, { 'x.csv': '', 'x.txt': '', 'd/y.csv': '', 'd/e/z.csv': '', 'd/e/z.txt': '' });
    const glob = await plan(makeSpec([{ path: path.join(root, '**', '*.csv') }], { mini_batch_size: 100 }));
    expect(glob.flatMap(filesOf)).toEqual(['d/e/z.csv', 'd/y.csv', 'x.csv'].map((r) => path.join(root, r)));
    const top = await plan(makeSpec([{ path: path.join(root, '*.txt') }]));
    expect(top.flatMap(filesOf)).toEqual([path.join(root, 'x.txt')]);
    const pattern = await plan(makeSpec([{ path: root, pattern: 'd/**/*.txt' }]));
    expect(pattern.flatMap(filesOf)).toEqual([path.join(root, 'd/e/z.txt')]);
    const shallow = await plan(makeSpec([{ path: root, pattern: '*.csv' }]));
    expect(shallow.flatMap(filesOf)).toEqual([path.join(root, 'x.csv')]);
  });

  it('concatenates several inputs in listed order; a mini-batch may span two inputs', async () => {
    const root = tempDir();
    writeTree(root, { 'second/a': '1', 'second/b': '2', 'first/y': '3', 'first/x': '4' });
    const batches = await plan(
      makeSpec([{ path: path.join(root, 'second') }, { path: path.join(root, 'first') }], {
        mini_batch_size: 3,
      }),
    );
    expect(batches.map(filesOf)).toEqual([
      ['second/a', 'second/b', 'first/x'].map((r) => path.join(root, r)),
      [path.join(root, 'first/y')],
    ]);
    expect(batches.map((b) => b.id)).toEqual([0, 1]);
  });

  it('gives the same plan twice (resume relies on it)', async () => {
    const root = tempDir();
    writeTree(root, Object.fromEntries(TREE.map((f) => [f, f])));
    const spec = makeSpec([{ path: root }], { mini_batch_size: 4 });
    expect(await plan(spec)).toEqual(await plan(spec));
  });

  it('groups files by partition_format values: one mini-batch per user and genre', async () => {
    const root = tempDir();
    const files = [
      'ann/2023/rock.wav',
      'ann/2024/rock.wav',
      'bob/2023/jazz.wav',
      'ann/2023/jazz.wav',
      'bob/2024/jazz.wav',
      'bob/2024/pop.wav',
    ];
    writeTree(root, Object.fromEntries(files.map((f) => [f, f])));
    const spec = makeSpec([{ path: root, partition_format: '{user}/{season}/{genres}.wav' }], {
      partition_keys: ['user', 'genres'],
      mini_batch_size: 1,
    });
    const batches = await plan(spec);
    // Order of first appearance in walk order: ann/2023/jazz, ann/2023/rock, bob/2023/jazz, bob/2024/pop.
    expect(batches.map((b) => b.partition_key_value)).toEqual([
      { user: 'ann', genres: 'jazz' },
      { user: 'ann', genres: 'rock' },
      { user: 'bob', genres: 'jazz' },
      { user: 'bob', genres: 'pop' },
    ]);
    expect(batches.map(filesOf)).toEqual(
      [
        ['ann/2023/jazz.wav'],
        ['ann/2023/rock.wav', 'ann/2024/rock.wav'],
        ['bob/2023/jazz.wav', 'bob/2024/jazz.wav'],
        ['bob/2024/pop.wav'],
      ].map((g) => g.map((r) => path.join(root, r))),
    );
    expect(batches.map((b) => b.items)).toEqual([1, 2, 2, 1]);
  });

  it('refuses a file that does not match partition_format, naming the file and the format', async () => {
    const root = tempDir();
    writeTree(root, { 'ann/2023/rock.wav': '', 'ann/notes.txt': '' });
    const spec = makeSpec([{ path: root, partition_format: '{user}/{season}/{genres}.wav' }], {
      partition_keys: ['user'],
    });
    await expectPartitionError(
      spec,
      path.join(root, 'ann/notes.txt'),
      '"ann/notes.txt"',
      '{user}/{season}/{genres}.wav',
    );
    await expectPartitionError(
      makeSpec([{ path: root, partition_format: '{user}/*' }], { partition_keys: ['genre'] }),
      'genre',
      'not in partition_format',
    );
    await expectPartitionError(
      makeSpec([{ path: root }], { partition_keys: ['user'] }),
      'need a partition_format',
    );
  });

  it('names a missing input', async () => {
    const root = tempDir();
    await expectPartitionError(
      makeSpec([{ path: path.join(root, 'nope') }]),
      path.join(root, 'nope'),
      'does not exist',
    );
    await expectPartitionError(makeSpec([{ path: path.join(root, 'nope', '*.png') }]), 'nope', 'glob');
  });

  it('is lazy: the first mini-batch comes before the tree of 20,000 files is listed', async () => {
    const root = tempDir();
    // 200 folders of 100 files.
    for (let d = 0; d < 200; d++) {
      const dir = path.join(root, `d${String(d).padStart(3, '0')}`);
      mkdirSync(dir);
      for (let f = 0; f < 100; f++) writeFileSync(path.join(dir, `f${String(f).padStart(3, '0')}`), '');
    }
    const gen = planMiniBatches(makeSpec([{ path: root }], { mini_batch_size: 10 }));
    const first = await gen.next();
    expect(first.value?.items).toBe(10);
    // A file added now to the last folder is seen only if that folder is listed after the first
    // mini-batch came out: a planner that listed the tree first would miss it. (An order of events,
    // not a stopwatch: a loaded machine cannot make it pass or fail.)
    writeFileSync(path.join(root, 'd199', 'f100-late'), 'late');
    let count = 10;
    let sawLate = false;
    for await (const b of gen) {
      count += b.items;
      if (filesOf(b).includes(path.join(root, 'd199', 'f100-late'))) sawLate = true;
    }
    expect(count).toBe(20_001);
    expect(sawLate).toBe(true);
  });

  it('stops at an aborted signal', async () => {
    const root = tempDir();
    writeTree(root, Object.fromEntries(TREE.map((f) => [f, f])));
    const ctl = new AbortController();
    const gen = planMiniBatches(makeSpec([{ path: root }], { mini_batch_size: 1 }), { signal: ctl.signal });
    await gen.next();
    ctl.abort(new Error('user cancelled'));
    await expect(gen.next()).rejects.toThrow('user cancelled');
  });

  it('names a file that cannot be read (a dangling link)', async () => {
    const root = tempDir();
    writeTree(root, { 'a.txt': 'x' });
    symlinkSync(path.join(root, 'gone'), path.join(root, 'b.txt'));
    await expectPartitionError(makeSpec([{ path: root }]), path.join(root, 'b.txt'), 'does not exist');
  });

  it.skipIf(process.getuid?.() === 0)(
    'names a folder that cannot be read (not as root: root reads everything)',
    async () => {
      const root = tempDir();
      writeTree(root, { 'sub/a': 'x' });
      chmodSync(path.join(root, 'sub'), 0o000);
      try {
        await expectPartitionError(makeSpec([{ path: root }]), path.join(root, 'sub'), 'permission denied');
      } finally {
        chmodSync(path.join(root, 'sub'), 0o755);
      }
    },
  );
});
