// A big return's lines reach the output as a file the worker wrote (src/runtime/spillLines.ts), so
// the leader never holds them: the worker side, the launcher's check, the commit log's copy (in
// order with inline lines, its line index across chunk boundaries, the file deleted), and a real
// `prs run` whose returns go that way.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINE_INDEX_STRIDE, lineIndexPath } from '../../src/common/lineIndex';
import type { WorkerMessage } from '../../src/common/protocol';
import { CommitLog, type FinishedAttempt } from '../../src/engine/commitLog';
import { Journal, type AttemptRow } from '../../src/engine/journal';
import { linesFileProblem, SpillFolder } from '../../src/engine/spillFolder';
import { WorkerEvents } from '../../src/engine/workerEvents';
import { LogFile, PROCESSED_CSV_COLUMNS } from '../../src/engine/logTree';
import { SPILL_CHARS, spillLargeLines } from '../../src/runtime/spillLines';
import { DEBIAN_PYTHON, nodeJob, prs, tempDir, writeFiles } from '../helpers';

const times = { startedAt: 0, elapsedMs: 1, cpuMs: 1, runMs: 1 };

function results(...lines: string[][]): WorkerMessage {
  return {
    t: 'results',
    results: lines.map((l, id) => ({
      status: 'done',
      id,
      itemsTotal: 1,
      itemsSucceeded: 1,
      lines: l,
      times,
    })),
  };
}

function row(id: number): AttemptRow {
  return {
    mini_batch_id: id,
    attempt: 1,
    status: 'succeeded',
    node_id: '0',
    process_name: 'process000',
    pid: 1,
    items_total: 1,
    items_succeeded: 1,
    items_failed: 0,
    start_time: 0,
    elapsed_s: 0,
    process_time_s: 0,
    run_time_s: 0,
    error_type: null,
    error_message: null,
    traceback: null,
    output_end: null,
  };
}

async function commitLog(dir: string) {
  const journal = new Journal(path.join(dir, 'journal.sqlite'));
  const csv = new LogFile(path.join(dir, 'processed.csv'));
  csv.write(PROCESSED_CSV_COLUMNS.join(',') + '\n');
  const output = path.join(dir, 'out.txt');
  return { log: await CommitLog.open(journal, csv, output, 0), journal, output };
}

/** A commit log that has committed mini-batch 0's line "kept", and the first failure it reports. */
async function afterOneCommit() {
  const dir = tempDir();
  const { log, journal, output } = await commitLog(dir);
  let failed: Error | null = null;
  log.onFailure((err) => (failed = err));
  log.add({ row: row(0), lines: ['kept'] });
  await log.flush();
  return { dir, log, journal, output, failure: () => failed };
}

/** Lines of varied length (some multi-byte), so chunk boundaries fall inside lines. */
function manyLines(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix} ${i} ${'é'.repeat(i % 13)}${'x'.repeat(i % 61)}`);
}

describe('spillLargeLines (the worker side)', () => {
  it('writes large lines to a file of the folder, keeps small ones in the message', () => {
    const dir = tempDir();
    const big = manyLines('big', 20_000);
    expect(big.join('\n').length).toBeGreaterThan(SPILL_CHARS);
    const sent = spillLargeLines(results(['small'], big), dir);
    if (sent.t !== 'results') throw new Error('not results');
    const [small, spilled] = sent.results as Array<{ lines?: string[]; linesFile?: string }>;
    expect(small!.lines).toEqual(['small']);
    expect(small!.linesFile).toBeUndefined();
    expect(spilled!.lines).toBeUndefined();
    expect(path.dirname(spilled!.linesFile!)).toBe(dir);
    expect(readFileSync(spilled!.linesFile!, 'utf8')).toBe(big.join('\n') + '\n');
  });

  it('without a folder, sends the lines as they are', () => {
    const message = results(manyLines('big', 20_000));
    expect(spillLargeLines(message, undefined)).toBe(message);
  });

  it('sends them in the message when the file cannot be written', () => {
    const message = results(manyLines('big', 20_000));
    expect(spillLargeLines(message, path.join(tempDir(), 'no-such-folder'))).toEqual(message);
  });
});

describe('linesFileProblem (the launcher checks what a worker names)', () => {
  const named = (file: unknown): WorkerMessage =>
    ({
      t: 'results',
      results: [{ status: 'done', id: 7, itemsTotal: 1, itemsSucceeded: 1, linesFile: file, times }],
    }) as WorkerMessage;

  it('takes a file of the spill folder, and refuses any other, a missing one, or one without a folder', () => {
    const dir = tempDir();
    const spill = path.join(dir, 'spill');
    mkdirSync(spill);
    writeFileSync(path.join(spill, 'a.lines'), 'a\n');
    writeFileSync(path.join(dir, 'elsewhere.lines'), 'b\n');
    expect(linesFileProblem(named(path.join(spill, 'a.lines')), spill)).toBeNull();
    expect(linesFileProblem(named(path.join(dir, 'elsewhere.lines')), spill)).toMatch(
      /mini-batch 7's lines in ".*elsewhere\.lines", which is not a file of its spill folder/,
    );
    expect(linesFileProblem(named(path.join(spill, '..', 'elsewhere.lines')), spill)).toMatch(
      /not a file of/,
    );
    expect(linesFileProblem(named(path.join(spill, 'gone.lines')), spill)).toMatch(/which does not exist/);
    expect(linesFileProblem(named(path.join(spill, 'a.lines')), undefined)).toMatch(/it was given none/);
    expect(linesFileProblem(named(42), spill)).toMatch(/not a file of/);
    expect(linesFileProblem(results(['inline']), undefined)).toBeNull();
  });
});

describe("a worker's messages (WorkerEvents)", () => {
  it('pass on a lines file of its spill folder, and make any other a protocol error, never a message', () => {
    const spill = tempDir();
    writeFileSync(path.join(spill, 'ok.lines'), 'a\n');
    const events = new WorkerEvents(spill);
    const delivered: WorkerMessage[] = [];
    const refused: string[] = [];
    events.onMessage((m) => delivered.push(m));
    events.onProtocolError((d) => refused.push(d));
    const naming = (file: string): WorkerMessage => ({
      t: 'results',
      results: [{ status: 'done', id: 3, itemsTotal: 1, itemsSucceeded: 1, linesFile: file, times }],
    });
    events.deliver(naming(path.join(spill, 'ok.lines')));
    events.deliver(naming('/etc/passwd'));
    expect(delivered).toHaveLength(1);
    expect(refused).toEqual([
      expect.stringMatching(/mini-batch 3's lines in "\/etc\/passwd", which is not a file/),
    ]);
  });
});

describe('the commit log and lines files', () => {
  it('copies them in order with inline lines, indexes every line across chunks, and deletes them', async () => {
    const dir = tempDir();
    const { log, journal, output } = await commitLog(dir);
    // Over 1 MB each: copied in more than one chunk, with lines split between chunks.
    const parts = [
      manyLines('a', 3),
      manyLines('file-b', 40_000),
      manyLines('c', 5),
      manyLines('file-d', 30_000),
    ];
    const files: string[] = [];
    const attempts: FinishedAttempt[] = parts.map((lines, i) => {
      if (!lines[0]!.startsWith('file-')) return { row: row(i), lines };
      const file = path.join(dir, `${i}.lines`);
      writeFileSync(file, lines.join('\n') + '\n');
      files.push(file);
      return { row: row(i), linesFile: file };
    });
    expect(readFileSync(files[0]!).length).toBeGreaterThan(1 << 20);
    for (const a of attempts) log.add(a);
    await log.close();

    const expected = parts.map((l) => l.join('\n') + '\n').join('');
    const written = readFileSync(output);
    expect(written.toString('utf8')).toBe(expected);
    for (const file of files) expect(existsSync(file)).toBe(false);
    expect(journal.state().outputEnd).toBe(written.length);

    const starts = [0];
    for (let i = 0; i < written.length - 1; i++) if (written[i] === 10) starts.push(i + 1);
    const raw = readFileSync(lineIndexPath(output));
    const offsets = Array.from({ length: raw.length / 8 }, (_, i) => Number(raw.readBigUInt64LE(i * 8)));
    expect(offsets).toEqual(starts.filter((_, i) => i % LINE_INDEX_STRIDE === 0));
    expect(offsets.length).toBeGreaterThan(60);
  });

  it('a lines file cut short after it was reported fails the commit, naming the file; nothing earlier is lost', async () => {
    const { dir, log, journal, output, failure } = await afterOneCommit();
    const file = path.join(dir, 'short.lines');
    writeFileSync(file, 'x'.repeat(5000) + '\n');
    log.add({ row: row(1), linesFile: file });
    truncateSync(file, 10);
    await log.close();
    expect(String(failure())).toContain(`cannot read ${file}: `);
    expect(String(failure())).toMatch(/short of its size/);
    expect(readFileSync(output, 'utf8')).toBe('kept\n');
    expect(journal.state().succeeded.has(0)).toBe(true);
    expect(journal.state().succeeded.has(1)).toBe(false);
    expect(existsSync(file)).toBe(false);
  });

  it('a lines file gone before its commit fails it, naming the file, rather than committing its mini-batch without its lines', async () => {
    const { dir, log, journal, output, failure } = await afterOneCommit();
    const gone = path.join(dir, 'gone.lines');
    log.add({ row: row(1), linesFile: gone });
    await log.close();
    expect(String(failure())).toContain(`cannot read ${gone}: `);
    expect(readFileSync(output, 'utf8')).toBe('kept\n');
    expect(journal.state().succeeded.has(1)).toBe(false);
  });
});

describe('spill folders', () => {
  it("are named for their leader's pid; the sweep removes those whose leader is gone, and only those", async () => {
    const parent = tempDir();
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const orphan = path.join(parent, `prs-spill-${gone}-abc123`);
    const live = path.join(parent, `prs-spill-${process.ppid}-def456`);
    const other = path.join(parent, `prs-spill-notapid`);
    for (const folder of [orphan, live, other]) {
      mkdirSync(folder);
      writeFileSync(path.join(folder, '1-0.lines'), 'left\n');
    }
    const folder = new SpillFolder(true, parent);
    const env: Record<string, string> = {};
    folder.give(env);
    const made = folder.path!;
    expect(env.PRS_SPILL_DIR).toBe(made);
    expect(path.basename(made)).toMatch(new RegExp(`^prs-spill-${process.pid}-`));
    // The sweep runs beside the launch, not before it.
    await folder.swept;
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
    expect(existsSync(made)).toBe(true);
  });
});

describe('prs run with big returns', () => {
  it('writes every line through lines files, and removes the spill folder at the end', async () => {
    const dir = tempDir();
    const seen = path.join(dir, 'seen');
    mkdirSync(seen);
    // 30,000 lines per mini-batch (~0.5 MB of text): over the spill size. Each worker watches its
    // spill folder (inotify queues every event, however soon the leader deletes the file) and says
    // at shutdown() which folder it had and which lines files it saw made there.
    const spec = nodeJob(dir, {
      script: `
import { watch, writeFileSync } from 'node:fs';
const made = new Set();
export function init() {
  if (process.env.PRS_SPILL_DIR) watch(process.env.PRS_SPILL_DIR, (_, name) => name?.endsWith('.lines') && made.add(name));
}
export function run(batch) {
  return batch.flatMap((f) => Array.from({ length: 30000 }, (_, i) => f.split('/').pop() + ' ' + i + ' ' + 'é'.repeat(i % 5)));
}
export async function shutdown() {
  await new Promise((resolve) => setTimeout(resolve, 100));
  writeFileSync(${JSON.stringify(seen)} + '/' + process.pid, JSON.stringify({ dir: process.env.PRS_SPILL_DIR ?? 'none', made: [...made] }));
}`,
      files: 6,
      spec: { mini_batch_size: 1, process_count_per_node: 2 },
    });
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(0);
    const lines = readFileSync(r.json!.output_file!, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(6 * 30_000);
    for (let f = 0; f < 6; f++) {
      const own = lines.filter((l) => l.startsWith(`f${String(f).padStart(4, '0')}.txt `));
      expect(own).toHaveLength(30_000);
      expect(own[29_999]).toBe(`f${String(f).padStart(4, '0')}.txt 29999 ${'é'.repeat(29_999 % 5)}`);
    }
    // The workers had one spill folder, their returns went through files in it (the output above
    // is then the leader's copy of them), and it is gone once the run ended.
    const said = readdirSync(seen).map(
      (pid) => JSON.parse(readFileSync(path.join(seen, pid), 'utf8')) as { dir: string; made: string[] },
    );
    expect(said.length).toBeGreaterThan(0);
    expect(new Set(said.map((s) => s.dir)).size).toBe(1);
    expect(said[0]!.dir).toMatch(/prs-spill-/);
    expect(said.flatMap((s) => s.made).length).toBeGreaterThan(0);
    expect(existsSync(said[0]!.dir)).toBe(false);
  });

  // The Python driver (run by the leader itself for files): big lists and DataFrames through lines
  // files, small ones in the message, and the same text either way, an undecodable name included.
  it('Python: writes big returns through lines files, small ones inline, the same text either way', async () => {
    const dir = tempDir();
    const seen = path.join(dir, 'seen');
    mkdirSync(seen);
    const files: Record<string, string> = {
      'src/score.py': `
import ctypes, os, struct
import pandas as pd

SEEN = ${JSON.stringify(seen)}
BAD = os.fsdecode(b"bad-\\xff")  # an undecodable byte: a lone surrogate in the str

def init():
    # inotify (queued by the kernel, however soon the leader deletes a file): which lines files
    # were made in the spill folder while this worker ran.
    global watch
    libc = ctypes.CDLL(None, use_errno=True)
    watch = libc.inotify_init1(os.O_NONBLOCK)
    libc.inotify_add_watch(watch, os.environ["PRS_SPILL_DIR"].encode(), 0x100)  # IN_CREATE

def run(batch):
    name = os.path.basename(batch[0])
    if name.startswith("big-list"):
        return [BAD] + ["%s %d %s" % (name, i, "é" * (i % 5)) for i in range(30000)]
    if name.startswith("big-frame"):
        return pd.DataFrame({"file": [name] * 30000, "row": range(30000)})
    return [BAD, name]

def shutdown():
    made = []
    try:
        data = os.read(watch, 1 << 16)
    except BlockingIOError:
        data = b""
    while data:
        _, _, _, size = struct.unpack("iIII", data[:16])
        made.append(data[16:16 + size].rstrip(b"\\0").decode())
        data = data[16 + size:]
    with open(os.path.join(SEEN, str(os.getpid())), "w") as f:
        f.write("\\n".join([os.environ["PRS_SPILL_DIR"]] + made))
`,
      'data/big-list-1.txt': '',
      'data/big-frame-2.txt': '',
      'data/small-3.txt': '',
    };
    writeFiles(dir, files);
    const spec = path.join(dir, 'job.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'py-lines-files',
        entry_script: 'score.py',
        source_directory: './src',
        python: DEBIAN_PYTHON,
        inputs: [{ path: './data', type: 'files' }],
        mini_batch_size: 1,
        process_count_per_node: 1,
      }),
    );
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(r.json!.output_file!, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    // Each mini-batch's lines together, in the order they were committed.
    const list = lines.filter((l) => l.startsWith('big-list-1.txt '));
    expect(list).toHaveLength(30_000);
    expect(list[29_999]).toBe(`big-list-1.txt 29999 ${'é'.repeat(29_999 % 5)}`);
    const frame = lines.filter((l) => l.startsWith('big-frame-2.txt '));
    expect(frame).toHaveLength(30_000);
    expect(frame[12_345]).toBe('big-frame-2.txt 12345');
    expect(lines.filter((l) => l === 'small-3.txt')).toHaveLength(1);
    // The undecodable name reads the same from a file (the big list) and from a message (the small one).
    expect(lines.filter((l) => l === 'bad-\uFFFD')).toHaveLength(2);
    expect(lines).toHaveLength(60_003);
    const [said] = readdirSync(seen).map((pid) => readFileSync(path.join(seen, pid), 'utf8').split('\n'));
    const [folder, ...made] = said!;
    expect(folder).toMatch(/prs-spill-/);
    expect(made.filter((m) => m.endsWith('.lines'))).toHaveLength(2);
    expect(existsSync(folder!)).toBe(false);
  });
});

describe("the commit log's writes", () => {
  it('commit while results keep arriving: a commit waits for its own bytes, not for the output to stop', async () => {
    // Output waits a little for company before each write (GATHER_MS); a commit that waited for the
    // writer to fall idle would wait as long as results keep coming, here until the stop below.
    const dir = tempDir();
    const { log, journal, output } = await commitLog(dir);
    let id = 0;
    const add = () => log.add({ row: row(id), lines: [`line ${id++}`] });
    // Results in every turn of the event loop, so some always arrive while a write is on its way.
    let adding = true;
    const keepAdding = () => {
      if (!adding) return;
      for (let i = 0; i < 5; i++) add();
      setImmediate(keepAdding);
    };
    keepAdding();
    const stopAt = Date.now() + 20_000;
    let committedWhileAdding = false;
    try {
      while (Date.now() < stopAt && !committedWhileAdding) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        await log.flush();
        const state = journal.state();
        // Several commits while results were still arriving, each durable: its end is on disk.
        if (state.attemptRows >= 300) committedWhileAdding = true;
        expect(readFileSync(output).length).toBeGreaterThanOrEqual(state.outputEnd);
      }
    } finally {
      adding = false;
    }
    expect(committedWhileAdding).toBe(true);
    await log.close();
    const lines = readFileSync(output, 'utf8').trimEnd().split('\n');
    expect(lines).toEqual(Array.from({ length: id }, (_, i) => `line ${i}`));
    expect(journal.state().attemptRows).toBe(id);
  }, 30_000);
});
