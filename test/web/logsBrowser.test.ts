// The logs browser's host side, through the API the app calls, on a run the real engine and CLI
// made: each mini-batch's inputs as the process log recorded them (a table's byte range holds
// exactly its rows), the logs/ tree (a link listed, never followed), and readLog following a log
// that grows.

import { appendFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppHost, type HostConnection } from '../../src/host/appHost';
import { prs, tempDir, writeFiles } from '../helpers';

let host: AppHost;
let conn: HostConnection;
beforeEach(() => {
  host = new AppHost({ examplesDir: path.join(tempDir(), 'none') });
  conn = host.connect(() => undefined);
});
afterEach(async () => {
  conn.close();
  await host.close();
});

function csv(rows: number): string {
  const lines = ['id,note'];
  for (let i = 0; i < rows; i++) lines.push(`${i},note ${i}`);
  return lines.join('\n') + '\n';
}

async function run(files: Record<string, string>, spec: object): Promise<string> {
  const dir = tempDir();
  writeFiles(dir, files);
  writeFileSync(
    path.join(dir, 'job.json'),
    JSON.stringify({ name: 'logs-job', entry_script: 'score.mjs', ...spec }),
  );
  const r = await prs(['run', path.join(dir, 'job.json'), '--runs-dir', path.join(dir, 'runs'), '--json']);
  expect(r.code).toBe(0);
  return r.json!.run_dir;
}

describe('the logs browser API', () => {
  it("gives a table mini-batch's file and byte range: the bytes hold its rows, and its process-log lines", async () => {
    const runDir = await run(
      { 'score.mjs': 'export function run(t) { return t.rows.map((r) => r[0]); }', 'data/t.csv': csv(400) },
      {
        inputs: [{ path: './data/t.csv', type: 'tabular' }],
        mini_batch_size: '1KB',
        process_count_per_node: 1,
      },
    );
    const mb = await conn.call('miniBatchLogs', { runDir, miniBatchId: 2 });
    expect(mb.attempts).toHaveLength(1);
    const [a] = mb.attempts;
    expect(a.process).toBe('process000');
    expect(a.logPath).toBe('logs/sys/node/0/process000.txt');
    const table = a.inputs!.tables![0]!;
    expect(table.file.endsWith(path.join('data', 't.csv'))).toBe(true);
    const [[start, end]] = table.bytes!;
    expect(start).toBeGreaterThan(0);
    const rows = readFileSync(table.file).subarray(start, end).toString('utf8').trim().split('\n');
    expect(rows).toHaveLength(a.inputs!.items);
    expect(rows[0]).toMatch(/^\d+,note \d+$/);
    // And the lines of the file they are, as a person looks them up (the header is line 1).
    const [[first, last]] = table.lines!;
    const fileLines = readFileSync(table.file, 'utf8').split('\n');
    expect(fileLines.slice(first - 1, last)).toEqual(rows);
    expect(first).toBeGreaterThan(2);
    // Its lines: the start and the result, where the log has them.
    expect(a.lines.map((l) => l.text)).toEqual([
      expect.stringContaining('mini-batch 2 attempt 1 starts: inputs {'),
      expect.stringContaining('mini-batch 2 attempt 1 succeeded'),
    ]);
    const log = readFileSync(path.join(runDir, a.logPath), 'utf8');
    for (const l of a.lines) {
      expect(log.split('\n')[l.line]).toBe(l.text);
      expect(Buffer.from(log).subarray(l.offset).toString('utf8').startsWith(l.text)).toBe(true);
    }
    // A log naming a file that is none of the job's inputs gets its bytes shown, never its lines counted.
    writeFileSync(
      path.join(runDir, 'logs/sys/node/0/process098.txt'),
      'x mini-batch 77 attempt 1 starts: inputs {"items":1,"tables":[{"file":"/etc/passwd","bytes":[[0,100]]}]}\n',
    );
    const planted = (await conn.call('miniBatchLogs', { runDir, miniBatchId: 77 })).attempts[0]!;
    expect(planted.inputs!.tables![0]).toEqual({ file: '/etc/passwd', bytes: [[0, 100]] });
    // Mini-batch 20 does not exist, and mini-batch 2 is not mini-batch 20's prefix.
    expect((await conn.call('miniBatchLogs', { runDir, miniBatchId: 20 })).attempts).toEqual([]);
  });

  it('gives the files of a files mini-batch', async () => {
    const runDir = await run(
      {
        'score.mjs': 'export function run(b) { return b; }',
        'data/a.txt': 'a',
        'data/b.txt': 'b',
        'data/c.txt': 'c',
      },
      { inputs: [{ path: './data' }], mini_batch_size: 2, process_count_per_node: 1 },
    );
    const mb = await conn.call('miniBatchLogs', { runDir, miniBatchId: 1 });
    expect(mb.attempts[0]!.inputs).toEqual({ items: 1, files: [expect.stringMatching(/data\/c\.txt$/)] });
  });

  it('lists the logs/ tree, a symbolic link as a link (a linked process log is not read); readLog with waitMs returns what is appended', async () => {
    const runDir = await run(
      { 'score.mjs': 'export function run(b) { return b; }', 'data/a.txt': 'a' },
      { inputs: [{ path: './data' }], mini_batch_size: 1, process_count_per_node: 1 },
    );
    symlinkSync('/etc', path.join(runDir, 'logs', 'elsewhere'));
    // A process log that is a link to a file outside the folder is never read.
    const outside = path.join(tempDir(), 'secret.txt');
    writeFileSync(outside, 'x mini-batch 0 attempt 7 starts: inputs {"items":1,"files":["/secret"]}\n');
    symlinkSync(outside, path.join(runDir, 'logs', 'sys', 'node', '0', 'process099.txt'));
    const mb = await conn.call('miniBatchLogs', { runDir, miniBatchId: 0 });
    expect(mb.attempts.map((a) => [a.attempt, a.process])).toEqual([[1, 'process000']]);
    const { entries, truncated } = await conn.call('listLogs', { runDir });
    expect(truncated).toBe(false);
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(entries[0]!.path).toBe('logs/readme.txt');
    expect(byPath.get('logs/sys/job_report/processed_mini-batches.csv')?.kind).toBe('file');
    expect(byPath.get('logs/user/error/0')?.kind).toBe('dir');
    expect(byPath.get('logs/elsewhere')?.kind).toBe('link');
    expect([...byPath.keys()].some((p) => p.startsWith('logs/elsewhere/'))).toBe(false);

    const rel = 'logs/sys/master_role.txt';
    const file = path.join(runDir, rel);
    const size = readFileSync(file).length;
    let answered = false;
    const waiting = conn.call('readLog', { runDir, path: rel, start: size, waitMs: 30_000 });
    void waiting.then(() => (answered = true));
    // Give the read time to find the file at its end (a read that did not wait answers at once, empty).
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    appendFileSync(file, 'a line written while the reader waited\n');
    const chunk = await waiting;
    expect(chunk.start).toBe(size);
    expect(chunk.data).toBe('a line written while the reader waited\n');
  });
});
