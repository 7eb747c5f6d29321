// Python entry scripts end to end: the real `prs run` (and the engine's live event stream) with
// Debian's /usr/bin/python3, scripts written like the ParallelRunStep samples.

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/common/events';
import { loadSpec } from '../../src/engine/spec/load';
import { startRun } from '../../src/engine/run';
import { DEBIAN_PYTHON, ROOT, prs, tempDir, writeFiles } from '../helpers';
import { pythonWithoutPandas, startedBy } from './helpers';
import { writeParquet } from '../partition/parquetWriter';
import { parquetWriteFile } from 'hyparquet-writer';

// The published sample, unchanged.
const IRIS_SCORE = readFileSync(path.join(ROOT, 'test/fixtures/python/iris_score.py'), 'utf8');

function read(runDir: string, rel: string): string {
  return readFileSync(path.join(runDir, rel), 'utf8');
}

function logFiles(runDir: string, kind: 'stdout' | 'stderr'): string {
  const dir = path.join(runDir, 'logs', 'user', kind, '0');
  return readdirSync(dir)
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('');
}

/** Every EntryScript log of a run: which worker ran what is up to the scheduler. */
function entryLogs(runDir: string): string {
  const dir = path.join(runDir, 'logs', 'user', 'entry_script_log', '0');
  return readdirSync(dir)
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('');
}

/** A job folder with `src/score.py`, numbered text inputs and a job.json. */
function pyJob(script: string, spec: Record<string, unknown> = {}, files = 6): { dir: string; spec: string } {
  const dir = tempDir('prs-pyjob-');
  const inputs: Record<string, string> = { 'src/score.py': script };
  for (let i = 0; i < files; i++) inputs[`data/f${String(i).padStart(4, '0')}.txt`] = `item ${i}\n`;
  writeFiles(dir, inputs);
  const specPath = path.join(dir, 'job.json');
  writeFileSync(
    specPath,
    JSON.stringify({
      name: 'py-job',
      entry_script: 'score.py',
      source_directory: './src',
      python: DEBIAN_PYTHON,
      inputs: [{ path: './data', type: 'files' }],
      mini_batch_size: 1,
      process_count_per_node: 2,
      run_invocation_timeout: 30,
      ...spec,
    }),
  );
  return { dir, spec: specPath };
}

const run = (spec: string, dir: string) => prs(['run', spec, '--json', '--runs-dir', path.join(dir, 'runs')]);

describe('ParallelRunStep samples, unchanged', () => {
  it('iris_score.py: a pickled model through Model.get_model_path, DataFrames in and out', async () => {
    const dir = tempDir('prs-iris-');
    execFileSync(DEBIAN_PYTHON, [
      '-c',
      `
import pickle
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
x, y = load_iris(return_X_y=True, as_frame=True)
pickle.dump(LogisticRegression(max_iter=500).fit(x.values, y), open("${dir}/iris.pkl", "wb"))
x.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
x.to_csv("${dir}/iris.csv", index=False)
`,
    ]);
    // Azure/MachineLearningNotebooks: how-to-use-azureml/machine-learning-pipelines/parallel-run/Code/iris_score.py
    writeFiles(dir, {
      'src/iris_score.py': IRIS_SCORE,
    });
    const spec = path.join(dir, 'job.yaml');
    writeFileSync(
      spec,
      [
        'name: iris-score',
        'entry_script: iris_score.py',
        'source_directory: ./src',
        `python: ${DEBIAN_PYTHON}`,
        'inputs: [{path: ./iris.csv, type: tabular}]',
        'mini_batch_size: 1KB',
        'process_count_per_node: 2',
        'arguments: [--model_name, iris]',
        'models: {iris: ./iris.pkl}',
      ].join('\n'),
    );
    const r = await run(spec, dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json!.mini_batches.total).toBeGreaterThan(1);
    expect(r.json!.items).toEqual({ succeeded: 150, failed: 0 });
    const lines = readFileSync(r.json!.output_file!, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(150);
    for (const line of lines) expect(line).toMatch(/^\d\.\d \d\.\d \d\.\d \d\.\d [012]$/);
    expect(lines.filter((l) => l.endsWith(' 0'))).toHaveLength(50);
    const entryLog = entryLogs(r.json!.run_dir);
    expect(entryLog).toContain('init() is called.');
    expect(entryLog).toContain('run() is called with:');
  });

  it('the digits example: prepare step, PNG files, a saved model, the EntryScript logger', async () => {
    const dir = tempDir('prs-digits-');
    cpSync(path.join(ROOT, 'examples', 'digits'), dir, {
      recursive: true,
      filter: (src) => !/[/\\](data|models|runs)$/.test(src),
    });
    execFileSync(DEBIAN_PYTHON, [path.join(dir, 'prepare.py')]);
    const r = await run(path.join(dir, 'job.yaml'), dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = readFileSync(r.json!.output_file!, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(899);
    const labels = new Map(
      readFileSync(path.join(dir, 'data', 'labels.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',') as [string, string]),
    );
    const right = lines.filter((l) => {
      const [file, digit] = l.split(': ');
      return labels.get(file!) === digit;
    });
    expect(right.length / lines.length).toBeGreaterThan(0.95);
    const logs = entryLogs(r.json!.run_dir);
    expect(logs).toMatch(/\|INFO\|.*classified 25 images, 0 disagree/);
    expect(logs).toContain('init(): 899 known labels for checking');
    expect(logFiles(r.json!.run_dir, 'stdout')).toContain('run method start:');
  });
});

describe('environment', () => {
  it('environment_variables and side inputs reach every worker; source_directory is the cwd', async () => {
    const { dir, spec } = pyJob(
      `
import os, sys
def run(mini_batch):
    return ["%s|%s|%s|%s" % (os.environ.get("MY_SETTING"), os.environ.get("PYTHONFAULTHANDLER"), os.getcwd(), sys.argv[1:])]
`,
      { environment_variables: { MY_SETTING: 'forty-two' }, arguments: ['--labels_dir', '../data'] },
      4,
    );
    const r = await run(spec, dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = readFileSync(r.json!.output_file!, 'utf8').trim().split('\n');
    expect(new Set(lines)).toEqual(
      new Set([`forty-two|1|${path.join(dir, 'src')}|['--labels_dir', '../data']`]),
    );
  });
});

describe('tabular inputs', () => {
  it('by size and by partition keys (the tabular-python example)', async () => {
    const dir = tempDir('prs-tab-');
    cpSync(path.join(ROOT, 'examples', 'tabular-python'), dir, {
      recursive: true,
      filter: (s) => !s.endsWith('runs'),
    });
    const bySize = await run(path.join(dir, 'job.yaml'), dir);
    expect(bySize.code, bySize.stdout + bySize.stderr).toBe(0);
    expect(bySize.json!.mini_batches.total).toBeGreaterThan(3);
    expect(bySize.json!.items).toEqual({ succeeded: 180, failed: 0 });

    const parts = await run(path.join(dir, 'job-partitioned.yaml'), dir);
    expect(parts.code, parts.stdout + parts.stderr).toBe(0);
    expect(parts.json!.mini_batches.total).toBe(6);
    const lines = readFileSync(parts.json!.output_file!, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(180);
    // Each partition's shares sum to 1: every mini-batch held exactly one (store, brand).
    const sums = new Map<string, number>();
    for (const l of lines) {
      const [, store, brand, , share] = l.split(' ');
      sums.set(`${store} ${brand}`, (sums.get(`${store} ${brand}`) ?? 0) + Number(share));
    }
    expect(sums.size).toBe(6);
    for (const s of sums.values()) expect(s).toBeCloseTo(1, 2);
    // Whichever worker ran them: every entry-script log of the run.
    const log = entryLogs(parts.json!.run_dir);
    expect(log.match(/run\(\): 30 rows \{'store': '\w+', 'brand': '\w+'\}/g)).toHaveLength(6);
  });
});

describe('parquet', () => {
  it('row groups are read on the Node side and arrive as a DataFrame (no pyarrow needed)', async () => {
    const { dir, spec } = pyJob(
      `
def run(mini_batch, mini_batch_context):
    return ["%s %s %s %s" % (mini_batch_context.partition_key_value["store"], list(mini_batch.columns),
                             mini_batch["id"].tolist(), str(mini_batch["id"].dtype))]
`,
      {},
      0,
    );
    const cols = [
      { name: 'id', type: 'int64' as const },
      { name: 'store', type: 'string' as const },
    ];
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    writeParquet(path.join(dir, 'data', 'a.parquet'), cols, [
      [
        [1, 'n'],
        [2, 'n'],
      ],
      [[3, 's']],
    ]);
    writeFileSync(
      spec,
      JSON.stringify({
        ...JSON.parse(readFileSync(spec, 'utf8')),
        inputs: [{ path: './data', type: 'tabular' }],
        partition_keys: ['store'],
      }),
    );
    const r = await run(spec, dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = readFileSync(r.json!.output_file!, 'utf8').trim().split('\n').sort();
    expect(lines).toEqual(["n ['id', 'store'] [1, 2] int64", "s ['id', 'store'] [3] int64"]);
  });
});

describe('parquet types', () => {
  it('each column has the type pandas.read_parquet gives it, numbers with a null float64 with NaN', async () => {
    // Numeric columns without a null travel as their bytes (ColumnTable in src/runtime/tables.ts):
    // INT32 stays int32 and a DOUBLE of whole numbers float64 (their JSON values made both int64).
    const { dir, spec } = pyJob(
      `
import json
def run(mini_batch):
    return [json.dumps({c: [str(mini_batch[c].dtype), [None if v != v else v for v in mini_batch[c].tolist()]]
                        for c in mini_batch.columns}, sort_keys=True)]
`,
      {},
      0,
    );
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    parquetWriteFile({
      filename: path.join(dir, 'data', 't.parquet'),
      columnData: [
        { name: 'i32', data: Int32Array.from([1, -2, 3]), type: 'INT32', nullable: false },
        { name: 'i64', data: [1n, 2n ** 40n, -3n], type: 'INT64' },
        { name: 'whole', data: [1, 2, 3], type: 'DOUBLE' },
        { name: 'f32', data: Float32Array.from([0.5, 1.25, -2]), type: 'FLOAT' },
        { name: 'gap', data: [1.5, null, 3], type: 'DOUBLE' },
        { name: 'igap', data: [1, null, 3], type: 'INT32' },
        { name: 's', data: ['a', 'b', 'é'], type: 'STRING' },
        { name: 'b', data: [true, false, true], type: 'BOOLEAN' },
      ],
    });
    writeFileSync(
      spec,
      JSON.stringify({
        ...JSON.parse(readFileSync(spec, 'utf8')),
        inputs: [{ path: './data/t.parquet', type: 'tabular' }],
      }),
    );
    const r = await run(spec, dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const seen = JSON.parse(readFileSync(r.json!.output_file!, 'utf8').trim()) as Record<string, unknown>;
    expect(seen).toEqual({
      i32: ['int32', [1, -2, 3]],
      i64: ['int64', [1, 2 ** 40, -3]],
      whole: ['float64', [1, 2, 3]],
      f32: ['float32', [0.5, 1.25, -2]],
      gap: ['float64', [1.5, null, 3]],
      igap: ['float64', [1, null, 3]],
      s: ['object', ['a', 'b', 'é']],
      b: ['bool', [true, false, true]],
    });
  });
});

describe('failures', () => {
  it('None, an exception, and a return of the wrong type: messages and tracebacks in the logs', async () => {
    const { dir, spec } = pyJob(
      `
import os
def parse(path):
    raise ValueError("cannot parse " + os.path.basename(path))

def run(mini_batch):
    name = os.path.basename(mini_batch[0])
    if name == "f0001.txt":
        return None
    if name == "f0002.txt":
        parse(mini_batch[0])
    if name == "f0003.txt":
        return "not a list"
    return [name]
`,
      { run_max_try: 1 },
    );
    const r = await run(spec, dir);
    expect(r.json!.mini_batches).toEqual({ total: 6, succeeded: 3, failed: 3 });
    const runDir = r.json!.run_dir;
    const csv = read(runDir, 'logs/sys/job_report/processed_mini-batches.csv');
    const jobError = read(runDir, 'logs/job_error.txt');
    const stderr = logFiles(runDir, 'stderr');
    for (const text of [csv, jobError]) {
      expect(text).toContain('The actual type of output is NoneType');
      expect(text).toContain('The actual type of output is str');
      expect(text).toContain('ValueError');
    }
    for (const text of [jobError, stderr]) {
      expect(text).toContain('Traceback (most recent call last):');
      expect(text).toMatch(/score\.py", line 4, in parse/);
      expect(text).toContain('ValueError: cannot parse f0002.txt');
    }
  });

  it('os._exit and a segfault: the worker is replaced and the retried mini-batches succeed', async () => {
    const marks = tempDir('prs-marks-');
    const { dir, spec } = pyJob(
      `
import ctypes, os
MARKS = ${JSON.stringify(marks)}
def run(mini_batch):
    name = os.path.basename(mini_batch[0])
    mark = os.path.join(MARKS, name)
    if name in ("f0001.txt", "f0004.txt") and not os.path.exists(mark):
        open(mark, "w").close()
        if name == "f0001.txt":
            os._exit(3)
        ctypes.string_at(0)
    return [name]
`,
      { run_max_try: 3 },
    );
    const r = await run(spec, dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 6, succeeded: 6, failed: 0 });
    const runDir = r.json!.run_dir;
    const main = read(runDir, 'logs/sys/node/0/_main.txt');
    expect(main).toMatch(/returncode 3\b/);
    expect(main).toMatch(/returncode (-11|139)\b/);
    // Two replacements beyond the first two workers.
    expect(readdirSync(path.join(runDir, 'logs', 'sys', 'node', '0'))).toContain('process003.txt');
    expect(logFiles(runDir, 'stderr')).toContain('Fatal Python error: Segmentation fault');
  });

  it('a timeout kills the interpreter (returncode -9) and a new worker takes over', async () => {
    const { dir, spec } = pyJob(
      'import os, time\ndef run(mb):\n    if mb[0].endswith("f0002.txt"):\n        time.sleep(600)\n    return mb\n',
      // Long enough that the five quick mini-batches finish in time on a loaded machine too.
      { run_invocation_timeout: 5, run_max_try: 1 },
    );
    const r = await run(spec, dir);
    expect(r.json!.mini_batches).toEqual({ total: 6, succeeded: 5, failed: 1 });
    const runDir = r.json!.run_dir;
    expect(read(runDir, 'logs/sys/node/0/_main.txt')).toMatch(/exits with returncode -9\b/);
    expect(read(runDir, 'logs/sys/job_report/processed_mini-batches.csv')).toMatch(/^2,1,timeout,/m);
  });

  it('a missing interpreter and an interpreter without pandas fail the job, naming the cause', async () => {
    const missing = pyJob('def run(mb):\n    return mb\n', { python: '/nonexistent/bin/python3' });
    const a = await run(missing.spec, missing.dir);
    expect(a.code).not.toBe(0);
    expect(a.stdout + a.stderr).toContain('/nonexistent/bin/python3');

    // The sample names no interpreter, so it gets the python3 first on PATH: one without pandas.
    const noPandas = pythonWithoutPandas();
    const dir = tempDir('prs-nopandas-');
    cpSync(path.join(ROOT, 'examples', 'tabular-python'), dir, {
      recursive: true,
      filter: (s) => !s.endsWith('runs'),
    });
    const spec = path.join(dir, 'job.yaml');
    writeFileSync(spec, readFileSync(spec, 'utf8').replace(/^python: .*$/m, ''));
    const b = await prs(['run', spec, '--json', '--runs-dir', path.join(dir, 'runs')], {
      env: { PATH: `${noPandas.binDir}${path.delimiter}${process.env.PATH ?? ''}` },
    });
    // Refused by the preflight before any user code or mini-batch runs (the interpreters may have
    // started: their start-up overlaps the check), naming the interpreter and the remedy.
    expect(b.code).toBe(42);
    expect(b.json!.mini_batches.total).toBe(0);
    const sysLogs = path.join(b.json!.run_dir, 'logs', 'sys', 'node', '0');
    for (const f of readdirSync(sysLogs).filter((f) => f.startsWith('process')))
      expect(readFileSync(path.join(sysLogs, f), 'utf8')).not.toContain('init() finished');
    expect(b.json!.reason).toContain(
      `pandas is missing from ${noPandas.python}. Interpreter ${noPandas.python} cannot import pandas, which tabular inputs need`,
    );
    expect(b.stdout + b.stderr + read(b.json!.run_dir, 'logs/job_result.txt')).toContain(
      'apt-get install python3-pandas',
    );
  });
});

describe('subprocesses', () => {
  it('a failed subprocess.run() lands in logs/user/error/<node>/<process>.txt, as the reference says', async () => {
    const { dir, spec } = pyJob(
      `
import subprocess, sys
from subprocess import run as sp_run

def run(mini_batch):
    # The reference's recommended way: run() with capture_output=True.
    done = sp_run([sys.executable, "-c", "import sys; sys.stderr.write('disk is full\\\\n'); sys.exit(3)"], capture_output=True)
    assert done.returncode == 3 and done.stderr == b"disk is full\\n"
    if mini_batch[0].endswith("f0001.txt"):
        subprocess.run([sys.executable, "-c", "raise SystemExit(5)"], capture_output=True, text=True, check=True)
    ok = subprocess.run([sys.executable, "-c", "print('fine')"], capture_output=True)
    return [ok.returncode]
`,
      { run_max_try: 1 },
      2,
    );
    const r = await run(spec, dir);
    expect(r.json!.mini_batches).toEqual({ total: 2, succeeded: 1, failed: 1 });
    const errDir = path.join(r.json!.run_dir, 'logs', 'user', 'error', '0');
    const text = readdirSync(errDir)
      .map((f) => readFileSync(path.join(errDir, f), 'utf8'))
      .join('');
    // Two captured failures with their stderr, and the one raised by check=True; nothing for the
    // subprocess that succeeded.
    expect(text.match(/^return code: 3$/gm)).toHaveLength(2);
    expect(text.match(/^disk is full$/gm)).toHaveLength(2);
    expect(text).toMatch(
      /subprocess failed \(CalledProcessError\)\ncommand: \S+python3\S* -c raise SystemExit\(5\)\nreturn code: 5/,
    );
    expect(text).not.toContain("print('fine')");
    // The raised error is the script's to handle: it fails the mini-batch as usual.
    expect(read(r.json!.run_dir, 'logs/job_error.txt')).toContain('CalledProcessError');
  });
});

describe('output', () => {
  it('the live stream keeps a progress bar and colours; the log files are plain text', async () => {
    const { dir, spec: specPath } = pyJob(
      `
import logging, sys
def run(mini_batch):
    print("\\x1b[32mgreen start\\x1b[0m", mini_batch[0].rsplit("/", 1)[1])
    for pct in (0, 50, 100):
        sys.stderr.write("\\rloading %3d%%" % pct)
        sys.stderr.flush()
    sys.stderr.write("\\n")
    logging.info("root logger line")
    return mini_batch
`,
      { process_count_per_node: 1 },
      2,
    );
    const loaded = await loadSpec(specPath);
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    const handle = await startRun(loaded.spec, { runsDir: path.join(dir, 'runs') });
    const events: RunEvent[] = [];
    // The interpreters of a files job are forked by the run's fork server, a child of the process
    // that runs the engine (no worker process in between: src/engine/inlinePython.ts), and still
    // write to terminals of their own.
    const parents: string[] = [];
    handle.subscribe((e) => {
      events.push(e);
      if (e.type === 'worker' && e.worker.state === 'init' && e.worker.pid)
        parents.push(startedBy(e.worker.pid));
    });
    const summary = await handle.done;
    expect(summary.status).toBe('completed');
    expect(parents).toEqual(['fork server']);
    const live = (stream: 'stdout' | 'stderr') =>
      events
        .filter((e): e is Extract<RunEvent, { type: 'output' }> => e.type === 'output' && e.stream === stream)
        .map((e) => e.data)
        .join('');
    expect(live('stderr')).toContain('\rloading   0%\rloading  50%\rloading 100%');
    expect(live('stdout')).toContain('\x1b[32mgreen start\x1b[0m');
    expect(live('stdout')).not.toContain('loading');

    const stdoutFile = logFiles(handle.runDir, 'stdout');
    const stderrFile = logFiles(handle.runDir, 'stderr');
    expect(stdoutFile).toContain('green start f0000.txt');
    expect(stdoutFile).toMatch(/\|INFO\|root\|root logger line/);
    expect(stderrFile).toContain('loading 100%');
    expect(stderrFile).not.toContain('loading  50%');
    for (const text of [stdoutFile, stderrFile]) {
      expect(text).not.toContain('\r');
      expect(text).not.toContain('\x1b');
    }
  });

  it("a text table job's interpreters are forked by the engine's fork server too, and a parquet one's", async () => {
    /** What the engine's child for each worker is (its parent checked), and the job's output lines. */
    async function children(inputs: unknown[], write: (dir: string) => void) {
      const { dir, spec } = pyJob('def run(frame):\n    return [str(len(frame))]\n', {
        inputs,
        mini_batch_size: '1KB',
        process_count_per_node: 1,
      });
      write(dir);
      const loaded = await loadSpec(spec);
      if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
      const handle = await startRun(loaded.spec, { runsDir: path.join(dir, 'runs') });
      const seen: string[] = [];
      handle.subscribe((e) => {
        if (e.type !== 'worker' || e.worker.state !== 'init' || !e.worker.pid) return;
        const cmdline = readFileSync(`/proc/${e.worker.pid}/cmdline`, 'utf8');
        const by = startedBy(e.worker.pid);
        if (by === 'fork server') seen.push('python, forked');
        else seen.push(by !== 'engine' ? by : cmdline.includes('worker.js') ? 'node' : cmdline);
      });
      const summary = await handle.done;
      expect(summary.status, summary.reason ?? '').toBe('completed');
      return { seen, rows: readFileSync(summary.output_file!, 'utf8').trim().split('\n').map(Number) };
    }
    const csv = await children([{ path: './table.csv', type: 'tabular' }], (dir) =>
      writeFileSync(
        path.join(dir, 'table.csv'),
        'id,v\n' + Array.from({ length: 300 }, (_, i) => `${i},x`).join('\n') + '\n',
      ),
    );
    expect(csv.seen).toEqual(['python, forked']);
    expect(csv.rows.reduce((a, b) => a + b, 0)).toBe(300);
    // Parquet rows are decoded in Node, in threads of the engine's process (parquetThreads.ts): no
    // worker process in between either.
    const parquet = await children([{ path: './t.parquet', type: 'tabular' }], (dir) =>
      writeParquet(path.join(dir, 't.parquet'), [{ name: 'id', type: 'int64' }], [[[1], [2], [3]]]),
    );
    expect(parquet.seen).toEqual(['python, forked']);
    expect(parquet.rows).toEqual([3]);
  });

  it('profiling_module cProfile writes the profile and its summary under logs/sys/node', async () => {
    const { dir, spec } = pyJob(
      'def run(mb):\n    return mb\n',
      { process_count_per_node: 1, arguments: ['--profiling_module', 'cProfile'] },
      2,
    );
    const r = await run(spec, dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const profile = path.join(r.json!.run_dir, 'logs', 'sys', 'node', '0', 'process000.profile');
    expect(existsSync(profile), `no ${profile}`).toBe(true);
    expect(
      execFileSync(
        DEBIAN_PYTHON,
        ['-c', `import pstats; pstats.Stats(${JSON.stringify(profile)}).print_stats()`],
        { encoding: 'utf8' },
      ),
    ).toContain('score.py');
    expect(readFileSync(profile + '.txt', 'utf8')).toContain('Top functions by cumulative time');
  });
});
