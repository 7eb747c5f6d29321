// The leader's parquet decoding threads (src/engine/parquetThreads.ts), for the Python workers it
// hosts: real worker threads of the built bundle, real files. They give what the worker process's
// own reading gives, fail a mini-batch with the reader's error, and end with the run.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ParquetBatch } from '../../src/common/minibatch';
import { ParquetThreads } from '../../src/engine/parquetThreads';
import { readParquetColumns } from '../../src/runtime/tables';
import { writeParquet } from '../partition/parquetWriter';
import { tempDir } from '../helpers';

let threads: ParquetThreads | undefined;
afterEach(async () => {
  await threads?.close();
  threads = undefined;
});

function table(rows: number, groups: number): ParquetBatch[] {
  const file = path.join(tempDir('prs-pq-threads-'), 't.parquet');
  const columns = [
    { name: 'id', type: 'int64' as const },
    { name: 'name', type: 'string' as const },
  ];
  const data = Array.from({ length: groups }, (_, g) =>
    Array.from({ length: rows }, (_, i) => [g * rows + i, `row ${g * rows + i}`]),
  );
  writeParquet(file, columns, data);
  return data.map((_, g) => ({ kind: 'parquet', file, columns: ['id', 'name'], rowGroups: [g] }));
}

describe('the parquet decoding threads', () => {
  it('give what reading on the worker thread gives, several mini-batches at once', async () => {
    threads = new ParquetThreads(2);
    const batches = table(500, 6);
    const got = await Promise.all(batches.map((b) => threads!.read([b])));
    const here = await Promise.all(batches.map((b) => readParquetColumns([b])));
    expect(got).toEqual(here);
    expect(got[5]).toMatchObject({ columns: ['id', 'name'] });
  });

  it("fail a mini-batch with the reader's error, naming the file, and go on with the next", async () => {
    threads = new ParquetThreads(1);
    const missing: ParquetBatch = {
      kind: 'parquet',
      file: '/nonexistent/t.parquet',
      columns: ['a'],
      rowGroups: [0],
    };
    await expect(threads.read([missing])).rejects.toMatchObject({
      name: 'TableReadError',
      message: expect.stringContaining('/nonexistent/t.parquet: cannot read the parquet footer'),
    });
    const [ok] = table(3, 1);
    await expect(threads.read([ok!])).resolves.toMatchObject({ columns: ['id', 'name'] });
  });

  it('end when closed, and keep no process alive while idle', async () => {
    threads = new ParquetThreads(1);
    const [ok] = table(3, 1);
    await threads.read([ok!]);
    // An idle thread is unreferenced: only the test's own handles keep this process going.
    const handles = process.getActiveResourcesInfo().filter((r) => r === 'Worker' || r === 'MessagePort');
    expect(handles).toEqual([]);
    await threads.close();
    await expect(threads.read([ok!])).resolves.toMatchObject({ columns: ['id', 'name'] });
  });
});
