// Bad input to `prs` (issue "hardening", part 2): each case gets one message that names the file,
// key or folder and says what was expected, exit 2 (spec or usage) or 42 (the job failed), never a
// Node stack trace, and with --json the summary line of contracts.md §2 whatever the exit.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, nodeJob, startPrs, tempDir, type PrsResult } from '../helpers';
import { readJournal, waitFor } from '../resume/kit';

process.env.PRS_DATA_DIR ??= tempDir('prs-data-');

const ECHO = `export async function run(batch) { return batch; }\n`;

/** `prs` that is killed if it has not ended in `ms`: a hang fails the test instead of stalling it. */
async function prsWithin(args: string[], ms = 30_000): Promise<PrsResult & { killed: boolean }> {
  const child = startPrs(args);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, ms);
  const result = await collect(child);
  clearTimeout(timer);
  return { ...result, killed };
}

/** What every refusal shares: exit 2, no stack, and the --json line saying so. */
function expectRefused(r: PrsResult & { killed?: boolean }, message: RegExp): void {
  expect(r.killed ?? false, 'prs hung and was killed').toBe(false);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
  expect(r.stderr).not.toMatch(/ReferenceError|TypeError|SqliteError|ENO[A-Z]+: /);
  expect(r.json, `no --json summary line in ${r.stdout}`).toMatchObject({
    status: 'failed',
    exit_code: 2,
    mini_batches: { total: 0, succeeded: 0, failed: 0 },
  });
  expect(r.json!.reason).toMatch(message);
}

const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts.reverse()) execFileSync('umount', ['-l', m]);
});

/** A tmpfs the test owns; null (with the reason) where this machine lets no one mount one. */
function mountTmpfs(options: string): string | null {
  const dir = tempDir('prs-mnt-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    console.warn(`skipped: cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`);
    return null;
  }
  mounts.push(dir);
  return dir;
}

describe('a spec that is dangerous or misleading', () => {
  it('refuses a YAML alias bomb with the file named, not a ReferenceError', async () => {
    const dir = tempDir();
    nodeJob(dir, { script: ECHO, files: 2 });
    const lines = ['name: alias-bomb', 'entry_script: score.mjs', 'source_directory: ./src'];
    lines.push(`a: &a [${Array(9).fill('lol').join(', ')}]`);
    const names = 'abcdefghi';
    for (let i = 1; i < names.length; i++)
      lines.push(
        `${names[i]}: &${names[i]} [${Array(9)
          .fill(`*${names[i - 1]}`)
          .join(', ')}]`,
      );
    lines.push('inputs: [{path: ./data}]');
    const spec = path.join(dir, 'bomb.yaml');
    writeFileSync(spec, lines.join('\n') + '\n');
    const r = await prsWithin(['run', spec, '--json']);
    expectRefused(
      r,
      new RegExp(`${spec.replace(/[.]/g, '\\.')}: its aliases \\(\\*name\\) expand to too many nodes`),
    );
  });

  it('refuses duplicate keys in a JSON spec, naming file, line and key', async () => {
    const dir = tempDir();
    nodeJob(dir, { script: ECHO, files: 2 });
    const spec = path.join(dir, 'dup.json');
    writeFileSync(
      spec,
      [
        '{',
        '  "name": "dup-keys",',
        '  "entry_script": "score.mjs",',
        '  "source_directory": "./src",',
        '  "run_max_try": 1,',
        '  "inputs": [{ "path": "./data", "type": "files", "path": "./elsewhere" }],',
        '  "run_max_try": 5',
        '}',
      ].join('\n'),
    );
    const r = await prsWithin(['run', spec, '--json']);
    expectRefused(r, /dup\.json:6:\d+: inputs\.0\.path: the key is given twice/);
    expect(r.stderr).toMatch(/dup\.json:7:3: run_max_try: the key is given twice/);
  });

  it('says a too large number is too large, with the limit, instead of "null" or "not a whole number"', async () => {
    const dir = tempDir();
    nodeJob(dir, { script: ECHO, files: 2 });
    const spec = path.join(dir, 'big.json');
    // JSON.stringify cannot write these: the text is what a user would type.
    writeFileSync(
      spec,
      '{"name": "big-numbers", "entry_script": "score.mjs", "source_directory": "./src",' +
        ' "inputs": [{"path": "./data"}], "run_invocation_timeout": 1e400,' +
        ' "mini_batch_size": 12345678901234567890}',
    );
    const r = await prsWithin(['validate', spec]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /run_invocation_timeout: Infinity is too large \(expected a number of seconds > 0, at most 9007199254740991\)/,
    );
    expect(r.stderr).toMatch(
      /mini_batch_size: 12345678901234567000 is too large \(expected .*at most 9007199254740991\)/,
    );
    expect(r.stderr).not.toMatch(/null|whole number of files/);
  });

  it('refuses an absurd process_count_per_node before any worker starts', async () => {
    const dir = tempDir();
    const spec = nodeJob(dir, { script: ECHO, files: 2, spec: { process_count_per_node: 100_000_000 } });
    const r = await prsWithin(['run', spec, '--json']);
    expectRefused(
      r,
      /process_count_per_node: 100000000 is not a valid process count \(expected auto or a whole number from 1 to 1024\)/,
    );
  });

  it('warns when there are more workers than mini-batches', async () => {
    const dir = tempDir();
    const spec = nodeJob(dir, {
      script: ECHO,
      files: 2,
      spec: { process_count_per_node: 3, mini_batch_size: 1 },
    });
    const r = await prsWithin(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /WARNING: 3 worker processes for 2 mini-batch\(es\): 1 of them has nothing to do/,
    );
  });
});

describe('a runs folder that cannot be created', () => {
  const job = () => nodeJob(tempDir(), { script: ECHO, files: 2 });

  it('under /proc: refused at once instead of spinning forever', async () => {
    const r = await prsWithin(['run', job(), '--runs-dir', '/proc/prs-runs', '--json']);
    expectRefused(r, /cannot create the runs folder \/proc\/prs-runs: /);
  });

  it('under /sys', async () => {
    const r = await prsWithin(['run', job(), '--runs-dir', '/sys/prs-runs/x', '--json']);
    expectRefused(r, /cannot create the runs folder \/sys\/prs-runs\/x: /);
  });

  it('through a regular file', async () => {
    const spec = job();
    const r = await prsWithin(['run', spec, '--runs-dir', path.join(spec, 'runs'), '--json']);
    expectRefused(
      r,
      new RegExp(
        `cannot create the runs folder ${spec}/runs: ${spec} is a file, not a folder`.replace(/[.]/g, '\\.'),
      ),
    );
  });

  it('on a read-only file system', async (ctx) => {
    const ro = mountTmpfs('ro,size=1m');
    if (!ro) return ctx.skip();
    const runsDir = path.join(ro, 'runs');
    const r = await prsWithin(['run', job(), '--runs-dir', runsDir, '--json']);
    expectRefused(r, new RegExp(`cannot create the runs folder ${runsDir}: the file system is read-only`));
  });
});

describe('a run folder whose files were damaged', () => {
  /** A run that was interrupted, as resume finds it: a record without a summary. */
  async function interruptedRun(): Promise<string> {
    const dir = tempDir();
    const spec = nodeJob(dir, { script: ECHO, files: 4, name: 'damaged-run' });
    const r = await prsWithin(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const runDir = r.json!.run_dir;
    const runJson = path.join(runDir, 'run.json');
    const record = JSON.parse(readFileSync(runJson, 'utf8')) as Record<string, unknown>;
    delete record.summary;
    writeFileSync(runJson, JSON.stringify(record));
    return runDir;
  }

  it('a garbage journal.sqlite: the message names the file', async () => {
    const runDir = await interruptedRun();
    const journal = path.join(runDir, 'journal.sqlite');
    for (const f of ['journal.sqlite-wal', 'journal.sqlite-shm'])
      rmSync(path.join(runDir, f), { force: true });
    writeFileSync(journal, 'this is not a database, it was overwritten by mistake\n'.repeat(200));
    const r = await prsWithin(['resume', runDir, '--json']);
    expectRefused(r, new RegExp(`${journal.replace(/[.]/g, '\\.')}: .*expected the run's SQLite journal`));
    expect(r.json!.run_dir).toBe(runDir);
  });

  it('a garbage run.json: the JSON message names the file', async () => {
    const runDir = await interruptedRun();
    const runJson = path.join(runDir, 'run.json');
    writeFileSync(runJson, '{"runId": "x", "spec": {');
    const r = await prsWithin(['resume', runDir, '--json']);
    expectRefused(
      r,
      new RegExp(`${runJson.replace(/[.]/g, '\\.')}: not valid JSON \\(.*\\) \\(expected the run record`),
    );
  });
});

describe('the advice after failed mini-batches', () => {
  it('a completed run with failures prints a resume command that works: each failed mini-batch runs once more, into the same output', async () => {
    const dir = tempDir();
    const marker = path.join(dir, 'fail-now');
    const trace = path.join(dir, 'trace.txt');
    writeFileSync(marker, '');
    // f0003.txt fails while the marker exists; every call of run() leaves a line in the trace.
    const script = `import { appendFileSync, existsSync } from 'node:fs';
export async function run(batch) {
  for (const f of batch) appendFileSync(${JSON.stringify(trace)}, f + '\\n');
  if (batch.some((f) => f.endsWith('f0003.txt')) && existsSync(${JSON.stringify(marker)})) throw new Error('not yet');
  return batch.map((f) => f.split('/').pop());
}
`;
    const spec = nodeJob(dir, { script, files: 6, spec: { mini_batch_size: 1, run_max_try: 1 } });
    const first = await prsWithin(['run', spec, '--runs-dir', path.join(dir, 'runs')]);
    expect(first.code, first.stderr).toBe(0);
    const advice = /To run the failed mini-batches again: (prs resume (\S+) --retry-failed)/.exec(
      first.stdout,
    );
    expect(advice, first.stdout).not.toBeNull();
    const runDir = advice![2]!;
    expect(readFileSync(path.join(runDir, 'logs', 'job_result.txt'), 'utf8')).toContain(advice![0]);

    rmSync(marker);
    writeFileSync(trace, '');
    // The command as printed, word for word (`prs` being bin/prs.js).
    const r = await prsWithin([...advice![1]!.split(' ').slice(1), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({
      status: 'completed',
      mini_batches: { total: 6, succeeded: 6, failed: 0 },
      items: { succeeded: 6, failed: 0 },
    });
    expect(
      readFileSync(trace, 'utf8')
        .trim()
        .split('\n')
        .map((f) => path.basename(f)),
    ).toEqual(['f0003.txt']);
    const out = readFileSync(path.join(runDir, 'outputs', 'parallel_run_step.txt'), 'utf8')
      .trim()
      .split('\n');
    expect(out.sort()).toEqual([
      'f0000.txt',
      'f0001.txt',
      'f0002.txt',
      'f0003.txt',
      'f0004.txt',
      'f0005.txt',
    ]);

    // Nothing is left to retry now: said, and refused.
    const again = await prsWithin(['resume', runDir, '--retry-failed', '--json']);
    expectRefused(again, /already completed; nothing to resume/);
  });
});

describe('a disk that fills during a run', () => {
  it('fails the job (42) naming the file it could not write, keeps what was committed, and the advised resume completes it exactly once', async (ctx) => {
    const small = mountTmpfs('size=2m');
    if (!small) return ctx.skip();
    const dir = tempDir();
    const trace = path.join(dir, 'trace.txt');
    const FILES = 80;
    // ~60 KB of output per mini-batch: the 2 MB disk is full after about 30 of the 80, many
    // more than one commit holds even on a loaded machine (a commit gathers for 50 ms).
    const script = `import { appendFileSync } from 'node:fs';
export async function run(batch) {
  await new Promise((r) => setTimeout(r, 30));
  for (const f of batch) appendFileSync(${JSON.stringify(trace)}, f + '\\n');
  return batch.map((f) => f.split('/').pop() + ' ' + 'x'.repeat(60000));
}
`;
    const spec = nodeJob(dir, {
      script,
      files: FILES,
      name: 'disk-full',
      spec: { mini_batch_size: 1, process_count_per_node: 1 },
    });
    const r = await prsWithin(['run', spec, '--runs-dir', small, '--json'], 120_000);
    expect(r.killed).toBe(false);
    expect(r.code, r.stderr).toBe(42);
    expect(r.json).toMatchObject({ status: 'failed', exit_code: 42 });
    // The first file that could not be written, then, when the disk was still full as the run
    // closed, run.json too (failClosing adds it): each named with its cause.
    const full = String.raw`cannot write \/\S+: the disk is full \((ENOSPC|SQLITE_FULL)\)`;
    expect(r.json!.reason).toMatch(new RegExp(`^${full}(; ${full})?$`));
    expect(r.stderr).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
    const runDir = r.json!.run_dir;
    expect(existsSync(path.join(runDir, 'run.json.tmp'))).toBe(false);
    const result = readFileSync(path.join(runDir, 'logs', 'job_result.txt'), 'utf8');
    expect(result).toMatch(/^Job failed: cannot write .*: the disk is full/);
    const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as {
      summary: { status: string };
    };
    expect(record.summary.status).toBe('failed');
    const committed = readJournal(runDir).succeeded;
    expect(committed.size, 'nothing was committed before the disk filled').toBeGreaterThan(0);
    expect(r.json!.mini_batches.succeeded).toBe(committed.size);

    // Room again, then the command the result file advises, word for word.
    execFileSync('mount', ['-o', 'remount,size=64m', small]);
    const advice = /`(prs resume \S+)`/.exec(result);
    expect(advice, result).not.toBeNull();
    writeFileSync(trace, '');
    const resumed = await prsWithin([...advice![1]!.split(' ').slice(1), '--json'], 120_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json).toMatchObject({ status: 'completed', items: { succeeded: FILES, failed: 0 } });
    // Only what was not committed ran again; every output line is there exactly once.
    expect(readFileSync(trace, 'utf8').trim().split('\n')).toHaveLength(FILES - committed.size);
    const names = readFileSync(path.join(runDir, 'outputs', 'parallel_run_step.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]);
    expect(names.sort()).toEqual(
      Array.from({ length: FILES }, (_, i) => `f${String(i).padStart(4, '0')}.txt`),
    );
  });

  it('a disk already (nearly) full at the start: one message naming the file, exit 2 or 42, never a stack', async (ctx) => {
    const tiny = mountTmpfs('size=64k');
    if (!tiny) return ctx.skip();
    const spec = nodeJob(tempDir(), { script: ECHO, files: 2, name: 'no-room' });
    // Each fill level runs out at another first file: the lock, the log tree, run.json, the journal.
    for (const used of [63_000, 60_000, 40_000, 30_000, 20_000]) {
      writeFileSync(path.join(tiny, 'filler'), Buffer.alloc(used));
      const r = await prsWithin(['run', spec, '--runs-dir', path.join(tiny, 'runs'), '--json']);
      expect(r.killed).toBe(false);
      expect([2, 42], `${used} bytes used: ${r.stderr}`).toContain(r.code);
      expect(r.stderr).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
      expect(r.json, r.stdout).toMatchObject({ status: 'failed', exit_code: r.code });
      expect(r.json!.reason).toMatch(new RegExp(`${tiny}/runs\\S*: .*the disk is full`));
      rmSync(path.join(tiny, 'runs'), { recursive: true, force: true });
    }
  });
});

describe('Ctrl-C twice', () => {
  it('quits at once, and with --json still ends with the summary line (cancelled, 130)', async () => {
    const dir = tempDir();
    // Workers that ignore SIGTERM: a first Ctrl-C then waits for their forced stop, so the second
    // one arrives while the run is still stopping.
    const script = `process.on('SIGTERM', () => {});
export async function run(batch) { await new Promise((r) => setTimeout(r, 5000)); return batch; }
`;
    const spec = nodeJob(dir, { script, files: 4, spec: { process_count_per_node: 1, mini_batch_size: 1 } });
    const child = startPrs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    const result = collect(child);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const seen = (text: string) => () => (stderr.includes(text) ? true : undefined);
    await waitFor('the progress bar', seen('mini-batches'));
    child.kill('SIGINT');
    await waitFor('the first interrupt to be taken', seen('Cancelling'));
    child.kill('SIGINT');
    const r = await result;
    expect(r.code, r.stderr).toBe(130);
    expect(r.json).toMatchObject({ status: 'cancelled', exit_code: 130 });
    expect(r.json!.run_dir).toMatch(new RegExp(`^${path.join(dir, 'runs', 'test-job')}/`));
  });
});
