// PythonRuntime driven directly, as a worker does: init() once, run() per mini-batch, shutdown(),
// with Debian's /usr/bin/python3 (numpy, pandas, sklearn) running real entry scripts.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { MiniBatch } from '../../src/common/minibatch';
import type { WorkerConfig } from '../../src/common/protocol';
import { PythonRuntime, type InterpreterExit } from '../../src/runtime/python/runtime';
import { RuntimeError, type BatchOutcome } from '../../src/runtime/runtime';
import { ROOT } from '../helpers';
import { SYSTEM_PYTHON, captureOutput, makeJob, tempDir, waitFor, workerConfig } from './helpers';

// The published sample, unchanged.
const IRIS_SCORE = readFileSync(path.join(ROOT, 'test/fixtures/python/iris_score.py'), 'utf8');

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

/** Starts a runtime for `script`; output is captured, and everything is torn down after the test. */
async function start(script: string, over: Partial<WorkerConfig> = {}, extra: Record<string, string> = {}) {
  const job = makeJob(script, extra);
  const config = workerConfig(job, over);
  const exits: InterpreterExit[] = [];
  const cap = captureOutput();
  const rt = new PythonRuntime(config, { onInterpreterExit: (e) => exits.push(e) });
  let stopped = false;
  cleanups.push(async () => {
    if (!stopped) await rt.shutdown().catch(() => undefined);
    cap.restore();
  });
  return {
    job,
    config,
    rt,
    cap,
    exits,
    async init() {
      await rt.init();
    },
    async stop() {
      stopped = true;
      await rt.shutdown();
    },
  };
}

function files(id: number, names: string[]): MiniBatch {
  return { id, items: names.length, bytes: 0, sources: [{ kind: 'files', files: names }] };
}

function okOf(outcome: BatchOutcome) {
  if (!outcome.ok) throw new Error(`expected success, got ${JSON.stringify(outcome.error)}`);
  return outcome;
}

function errOf(outcome: BatchOutcome) {
  if (outcome.ok) throw new Error(`expected failure, got ${JSON.stringify(outcome)}`);
  return outcome;
}

describe('the entry-script contract', () => {
  test('init once, run per mini-batch, shutdown; argv, cwd, sys.path and the EntryScript singleton', async () => {
    const t = await start(
      `
import argparse, os, sys
from azureml_user.parallel_run import EntryScript
import helper  # beside the script: source_directory is on sys.path

calls = []

def init():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_name", dest="model_name", required=True)
    args, unknown = parser.parse_known_args()
    calls.append("init")
    es = EntryScript()
    es.logger.info("init with model %s, unknown %s", args.model_name, unknown)
    es.logger.debug("not at INFO")
    print("cwd", os.getcwd())
    print("agent", es.agent_name, "node", es.node_id, "same", es is EntryScript())
    print("dirs", es.log_dir, es.output_dir)

def run(mini_batch):
    calls.append("run")
    EntryScript().logger.info("run %d", len(mini_batch))
    return [helper.shout(p) for p in mini_batch]

def shutdown():
    with open(os.path.join(EntryScript().output_dir, "shutdown.txt"), "w") as f:
        f.write(",".join(calls))
`,
      { args: ['--model_name', 'iris', '--extra', '1'] },
      { 'helper.py': 'def shout(s):\n    return s.upper()\n' },
    );
    await t.init();
    const a = okOf(await t.rt.run(files(0, ['a.png', 'b.png'])));
    expect(a).toMatchObject({ itemsTotal: 2, itemsSucceeded: 2, lines: ['A.PNG', 'B.PNG'] });
    expect(a.runMs).toBeGreaterThanOrEqual(0);
    expect(a.cpuMs).toBeGreaterThanOrEqual(0);
    okOf(await t.rt.run(files(1, ['c'])));
    await t.stop();

    expect(readFileSync(path.join(t.config.outputDir, 'shutdown.txt'), 'utf8')).toBe('init,run,run');
    const log = readFileSync(t.config.entryLogFile, 'utf8');
    expect(log).toContain("init with model iris, unknown ['--extra', '1']");
    expect(log).toContain('run 2');
    expect(log).not.toContain('not at INFO');
    const out = t.cap.stdout();
    expect(out).toContain(`cwd ${path.dirname(t.job.script)}`);
    expect(out).toContain('agent process000 node 0 same True');
    expect(out).toContain(`dirs ${t.config.logDir} ${t.config.outputDir}`);
    // The EntryScript logger writes its file only, not stdout.
    expect(out).not.toContain('init with model');
  });

  test('the logging level reaches the EntryScript logger; root logging goes to stdout', async () => {
    const t = await start(
      `
import logging
from azureml_user.parallel_run import EntryScript
def run(mb):
    EntryScript().logger.debug("debug line")
    EntryScript().logger.info("info line")
    logging.info("root info")
    logging.getLogger("mylib").warning("lib warning")
    return mb
`,
      { loggingLevel: 'WARNING' },
    );
    await t.init();
    okOf(await t.rt.run(files(0, ['x'])));
    await t.stop();
    expect(existsSync(t.config.entryLogFile) ? readFileSync(t.config.entryLogFile, 'utf8') : '').toBe('');
    expect(t.cap.stdout()).toContain('lib warning');
    expect(t.cap.stdout()).not.toContain('root info');

    const d = await start(
      `
import logging
from azureml_user.parallel_run import EntryScript
def run(mb):
    EntryScript().logger.debug("debug line")
    logging.debug("root debug")
    return mb
`,
      { loggingLevel: 'DEBUG' },
    );
    await d.init();
    okOf(await d.rt.run(files(0, ['x'])));
    await d.stop();
    expect(readFileSync(d.config.entryLogFile, 'utf8')).toMatch(/\|DEBUG\|.*debug line/);
    expect(d.cap.stdout()).toContain('root debug');
  });

  test('Model.get_model_path resolves through models; AZUREML_MODEL_DIR with exactly one model', async () => {
    const dir = tempDir();
    const modelFile = path.join(dir, 'm.pkl');
    writeFileSync(modelFile, 'x');
    const t = await start(
      `
import os
from azureml.core.model import Model
from azureml.core import Model as Model2
def run(mb):
    out = [Model.get_model_path("iris"), Model2.get_model_path("iris"), os.environ.get("AZUREML_MODEL_DIR")]
    try:
        Model.get_model_path("mnist")
    except Exception as e:
        out.append(type(e).__name__ + ": " + str(e))
    return out
`,
      { models: { iris: modelFile } },
    );
    await t.init();
    const r = okOf(await t.rt.run(files(0, ['a', 'b', 'c', 'd'])));
    expect(r.lines?.slice(0, 3)).toEqual([modelFile, modelFile, dir]);
    expect(r.lines?.[3]).toMatch(/^ModelNotFoundError: .*'mnist'.*configured: iris/);
  });
});

describe('return values', () => {
  const script = `
import pandas as pd
def run(mini_batch):
    kind = mini_batch[0]
    if kind == "none":
        return None
    if kind == "nothing":
        pass
    elif kind == "tuple":
        return tuple(mini_batch)
    elif kind == "fewer":
        return mini_batch[:1]
    elif kind == "more":
        return mini_batch * 2
    elif kind == "empty":
        return []
    elif kind == "dict":
        return {"a": 1}
    elif kind == "objects":
        return [1, 2.5, ("k", 3)]
    elif kind == "df":
        return pd.DataFrame({"file": ["a b.png", "c.png"], "label": [7, 1]})
`;

  test('list, tuple, DataFrame, fewer, more, empty; None, nothing and a dict fail with the reference message', async () => {
    const t = await start(script);
    await t.init();
    expect(okOf(await t.rt.run(files(0, ['tuple', 'x'])))).toMatchObject({
      itemsSucceeded: 2,
      lines: ['tuple', 'x'],
    });
    expect(okOf(await t.rt.run(files(1, ['fewer', 'x', 'y'])))).toMatchObject({
      itemsTotal: 3,
      itemsSucceeded: 1,
    });
    const more = okOf(await t.rt.run(files(2, ['more', 'x'])));
    expect(more).toMatchObject({ itemsSucceeded: 2, lines: ['more', 'x', 'more', 'x'] });
    expect(more.warning).toMatch(/returned 4 elements for mini-batch 2 of 2 items/);
    expect(okOf(await t.rt.run(files(3, ['empty'])))).toMatchObject({ itemsSucceeded: 0, lines: [] });
    expect(okOf(await t.rt.run(files(4, ['objects', 'b', 'c'])))).toMatchObject({
      lines: ['1', '2.5', "('k', 3)"],
    });
    // A DataFrame: rows space-separated, no header (values with spaces quoted, as pandas writes them).
    expect(okOf(await t.rt.run(files(5, ['df', 'x'])))).toMatchObject({
      itemsSucceeded: 2,
      lines: ['"a b.png" 7', 'c.png 1'],
    });

    for (const [id, kind, type] of [
      [6, 'none', 'NoneType'],
      [7, 'nothing', 'NoneType'],
      [8, 'dict', 'dict'],
    ] as const) {
      const r = errOf(await t.rt.run(files(id, [kind])));
      expect(r.error.type).toBe('ReturnValueError');
      expect(r.error.message).toBe(
        'The run() method in the entry script should return a list or a pandas DataFrame. The length of returned ' +
          'result is considered as succeeded number of items. For --output_action=append_row, the returned result is ' +
          `what to write into the result file. The actual type of output is ${type}.`,
      );
    }
  });

  test('--append_row_dataframe_header True writes the header first; summary_only sends no lines', async () => {
    const h = await start(script, { dataframeHeader: true, args: ['--append_row_dataframe_header', 'True'] });
    await h.init();
    expect(okOf(await h.rt.run(files(0, ['df', 'x'])))).toMatchObject({
      itemsSucceeded: 2,
      lines: ['file label', '"a b.png" 7', 'c.png 1'],
    });
    const s = await start(script, { outputAction: 'summary_only' });
    await s.init();
    const r = okOf(await s.rt.run(files(0, ['df', 'x'])));
    expect(r.itemsSucceeded).toBe(2);
    expect(r.lines).toBeUndefined();
  });
});

describe('errors', () => {
  test("an exception fails the mini-batch with the user's traceback; the worker keeps going", async () => {
    const t = await start(`
def helper(x):
    return 1 / x

def run(mini_batch):
    if mini_batch[0] == "bad":
        helper(0)
    return mini_batch
`);
    await t.init();
    const r = errOf(await t.rt.run(files(0, ['bad'])));
    expect(r.itemsTotal).toBe(1);
    expect(r.error.type).toBe('ZeroDivisionError');
    expect(r.error.message).toBe('division by zero');
    expect(r.error.traceback).toMatch(/^Traceback \(most recent call last\):\n/);
    expect(r.error.traceback).toContain(`File "${t.job.script}", line 7, in run`);
    expect(r.error.traceback).toContain(`File "${t.job.script}", line 3, in helper`);
    expect(r.error.traceback).not.toContain('prs_driver');
    expect(okOf(await t.rt.run(files(1, ['good'])))).toMatchObject({ itemsSucceeded: 1 });
  });

  test('init() failures, syntax errors and a missing run() reject init with a RuntimeError', async () => {
    const cases: Array<[string, RegExp, RegExp]> = [
      [
        'def init():\n    raise ValueError("no model here")\n\ndef run(mb):\n    return mb\n',
        /ValueError/,
        /no model here/,
      ],
      ['def run(mb)\n    return mb\n', /SyntaxError/, /.*/],
      [
        'import not_a_module_anywhere\ndef run(mb):\n    return mb\n',
        /ModuleNotFoundError/,
        /not_a_module_anywhere/,
      ],
      ['def init():\n    pass\n', /AttributeError/, /defines no run\(mini_batch\) function/],
    ];
    for (const [script, type, message] of cases) {
      const t = await start(script);
      const err = await t.init().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RuntimeError);
      const info = (err as RuntimeError).info;
      expect(info.type).toMatch(type);
      expect(info.message).toMatch(message);
      expect(info.traceback).toContain('score.py');
    }
  });

  test('a stop while init() still runs ends the interpreter without reporting an init failure', async () => {
    const t = await start(
      'import time\ndef init():\n    print("in init", flush=True)\n    time.sleep(30)\ndef run(mb):\n    return mb\n',
    );
    let settled = false;
    const init = t.init().then(
      () => (settled = true),
      () => (settled = true),
    );
    // init() is under way (its line is out), not merely the interpreter started.
    await waitFor(() => t.rt.pid !== undefined && t.cap.stdout().includes('in init'));
    const t0 = Date.now();
    await t.stop();
    // Ended at once: not after init()'s 30 s, nor at the 10 s after which a stop forces the end
    // (the margin below that is for a loaded machine).
    expect(Date.now() - t0).toBeLessThan(9000);
    await Promise.race([init, new Promise((r) => setTimeout(r, 300))]);
    expect(settled).toBe(false);
  });

  test('a missing interpreter rejects init, naming it', async () => {
    const t = await start('def run(mb):\n    return mb\n', { python: '/nonexistent/bin/python3' });
    const err = await t.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).info.message).toContain('/nonexistent/bin/python3');
  });

  test('os._exit during run() is reported as the interpreter exiting, with its code', async () => {
    const t = await start(`
import os
def run(mb):
    print("about to exit")
    os._exit(3)
`);
    await t.init();
    const pending = t.rt.run(files(4, ['x'])).catch((e: Error) => e.message);
    await waitFor(() => t.exits.length > 0);
    expect(await pending).toBe('the Python interpreter exited with code 3');
    expect(t.exits[0]).toEqual({ exitCode: 3, signal: undefined, during: 'run of mini-batch 4' });
    expect(t.cap.stdout()).toContain('about to exit');
  });

  test('a segfault is reported with its signal, and the faulthandler trace reaches stderr', async () => {
    const t = await start(`
import ctypes
def crash():
    ctypes.string_at(0)
def run(mb):
    crash()
`);
    await t.init();
    const pending = t.rt.run(files(0, ['x'])).catch((e: Error) => e.message);
    await waitFor(() => t.exits.length > 0);
    expect(await pending).toBe('the Python interpreter was killed by SIGSEGV (returncode -11)');
    expect(t.exits[0]).toMatchObject({ signal: 11, during: 'run of mini-batch 0' });
    // The trace comes through the stderr pseudo-terminal, which may be drained after the exit.
    await waitFor(() => /line 4 in crash/.test(t.cap.stderr()), 30_000).catch(() => undefined);
    expect(t.cap.stderr()).toContain('Fatal Python error: Segmentation fault');
    expect(t.cap.stderr()).toMatch(/File "[^"]*score\.py", line 4 in crash/);
  });
});

describe('live output', () => {
  test('stdout and stderr are terminals; a progress bar keeps its carriage returns; colours pass through', async () => {
    const t = await start(`
import sys, time
def run(mb):
    print("tty", sys.stdout.isatty(), sys.stderr.isatty())
    for i in range(3):
        sys.stderr.write("\\rprogress %d%%" % (i * 50))
        sys.stderr.flush()
    sys.stderr.write("\\n")
    print("\\x1b[31mred\\x1b[0m")
    return mb
`);
    await t.init();
    okOf(await t.rt.run(files(0, ['x'])));
    await t.stop();
    expect(t.cap.stdout()).toContain('tty True True');
    expect(t.cap.stdout()).toContain('\x1b[31mred\x1b[0m');
    expect(t.cap.stderr()).toContain('\rprogress 0%\rprogress 50%\rprogress 100%');
    expect(t.cap.stdout()).not.toContain('progress');
  });
});

describe('tabular mini-batches', () => {
  function csvFile(text: string): string {
    const file = path.join(tempDir(), 'data.csv');
    writeFileSync(file, text);
    return file;
  }

  test('byte ranges of a CSV become a DataFrame with exactly those columns', async () => {
    const header = 'a,b,name\n';
    const rows = ['1,2.5,x\n', '3,4.5,y\n', '5,6.5,"z, w"\n'];
    const file = csvFile(header + rows.join(''));
    const r0 = header.length;
    const t = await start(`
def run(df):
    return [f"{list(df.columns)} {len(df)} {df['a'].sum()} {df['name'].tolist()}"]
`);
    await t.init();
    const batch: MiniBatch = {
      id: 0,
      items: 2,
      bytes: 0,
      sources: [
        {
          kind: 'table',
          format: 'csv',
          file,
          columns: ['a', 'b', 'name'],
          ranges: [
            [r0, r0 + rows[0]!.length],
            [r0 + rows[0]!.length + rows[1]!.length, r0 + rows.join('').length],
          ],
        },
      ],
    };
    const r = okOf(await t.rt.run(batch));
    expect(r).toMatchObject({
      itemsTotal: 2,
      itemsSucceeded: 1,
      lines: ["['a', 'b', 'name'] 2 6 ['x', 'z, w']"],
    });
  });

  test('TSV and JSONL; partitioned batches call run(mini_batch, mini_batch_context)', async () => {
    const dir = tempDir();
    const tsv = path.join(dir, 'a.tsv');
    writeFileSync(tsv, 'store\tv\ns1\t1\ns1\t2\n');
    const jsonl = path.join(dir, 'b.jsonl');
    writeFileSync(jsonl, '{"v": 10, "store": "s1"}\n{"v": 20, "store": "s1"}\n');
    const t = await start(`
def run(mini_batch, mini_batch_context):
    print("context", mini_batch_context.partition_key_value, mini_batch_context.dataset)
    return [f"{mini_batch_context.partition_key_value} {list(mini_batch.columns)} {mini_batch['v'].tolist()}"]
`);
    await t.init();
    const tsvStart = 'store\tv\n'.length;
    const batch: MiniBatch = {
      id: 3,
      items: 4,
      bytes: 0,
      partition_key_value: { store: 's1' },
      sources: [
        {
          kind: 'table',
          format: 'tsv',
          file: tsv,
          columns: ['store', 'v'],
          ranges: [[tsvStart, 'store\tv\ns1\t1\ns1\t2\n'.length]],
        },
        {
          kind: 'table',
          format: 'jsonl',
          file: jsonl,
          columns: ['store', 'v'],
          ranges: [[0, readFileSync(jsonl).length]],
        },
      ],
    };
    const r = okOf(await t.rt.run(batch));
    expect(r).toMatchObject({ itemsTotal: 4, lines: ["{'store': 's1'} ['store', 'v'] [1, 2, 10, 20]"] });
    // The print travels through the terminal, not with the result: it is all there once stopped.
    await t.stop();
    expect(t.cap.stdout()).toMatch(
      /context \{'store': 's1'\} Dataset\(partition=\{'store': 's1'\}, sources=\[tsv .*a\.tsv/,
    );
  });

  test('an iris_score-style script: pickled sklearn model, Model.get_model_path, DataFrame in and out', async () => {
    const dir = tempDir();
    const model = path.join(dir, 'iris.pkl');
    execFileSync(SYSTEM_PYTHON, [
      '-c',
      `
import pickle
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
x, y = load_iris(return_X_y=True)
m = LogisticRegression(max_iter=500).fit(x, y)
pickle.dump(m, open(${JSON.stringify(model)}, "wb"))
`,
    ]);
    const data = path.join(dir, 'iris.csv');
    const header = 'sepal_length,sepal_width,petal_length,petal_width\n';
    const body = '5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n5.9,3.0,4.2,1.5\n';
    writeFileSync(data, header + body);
    // Written exactly as Azure/MachineLearningNotebooks' parallel-run/Code/iris_score.py.
    const t = await start(IRIS_SCORE, { args: ['--model_name', 'iris'], models: { iris: model } });
    await t.init();
    const r = okOf(
      await t.rt.run({
        id: 0,
        items: 3,
        bytes: body.length,
        sources: [
          {
            kind: 'table',
            format: 'csv',
            file: data,
            columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
            ranges: [[header.length, header.length + body.length]],
          },
        ],
      }),
    );
    expect(r.itemsSucceeded).toBe(3);
    expect(r.lines).toEqual(['5.1 3.5 1.4 0.2 0', '6.7 3.0 5.2 2.3 2', '5.9 3.0 4.2 1.5 1']);
    await t.stop();
    expect(readFileSync(t.config.entryLogFile, 'utf8')).toContain('init() is called.');
  });
});

describe('profiling', () => {
  test('profiling_module cProfile writes a pstats profile and a readable summary', async () => {
    const dir = tempDir();
    const profileFile = path.join(dir, 'logs', 'sys', 'node', '0', 'process000.profile');
    const t = await start(
      `
def busy_function():
    return sum(i * i for i in range(20000))
def run(mb):
    busy_function()
    return mb
`,
      { profilingModule: 'cProfile', profileFile },
    );
    await t.init();
    okOf(await t.rt.run(files(0, ['x'])));
    await t.stop();
    const stats = execFileSync(
      SYSTEM_PYTHON,
      ['-c', `import pstats; pstats.Stats(${JSON.stringify(profileFile)}).print_stats()`],
      {
        encoding: 'utf8',
      },
    );
    expect(stats).toContain('busy_function');
    const summary = readFileSync(profileFile + '.txt', 'utf8');
    expect(summary).toContain('Top functions by cumulative time');
    expect(summary).toContain('busy_function');
  });
});
