// The utilityProcess launcher, under plain Node: real jobs through the real engine, each worker a real
// process started by a stand-in for Electron's utilityProcess (fakeUtilityProcess.ts) that runs the
// built shim (out/main/workerShim.js), which loads the built worker (out/node/worker.js).

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AppEvent } from '../../src/common/contract';
import type { RunSummary } from '../../src/common/events';
import type { WorkerConfig } from '../../src/common/protocol';
import { workerEntryPath } from '../../src/runtime/paths';
import { startRun } from '../../src/engine/run';
import { loadSpec } from '../../src/engine/spec/load';
import { startMainHost } from '../../src/main/hosts';
import { UtilityProcessLauncher } from '../../src/main/utilityLauncher';
import { DEBIAN_PYTHON, ROOT, nodeJob, tempDir, writeFiles } from '../helpers';
import { fakeUtilityProcess, type FakeUtility } from './fakeUtilityProcess';

process.env.PRS_DATA_DIR ??= tempDir('prs-data-');

const SHIM = path.join(ROOT, 'out', 'main', 'workerShim.js');

async function runJob(
  specPath: string,
  utility: FakeUtility,
): Promise<{ summary: RunSummary; runDir: string }> {
  const loaded = await loadSpec(specPath);
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  const launcher = new UtilityProcessLauncher(utility, SHIM, workerEntryPath);
  const handle = await startRun(loaded.spec, {
    launcher,
    runsDir: path.join(path.dirname(specPath), 'runs'),
  });
  return { summary: await handle.done, runDir: handle.runDir };
}

const read = (runDir: string, rel: string) => readFileSync(path.join(runDir, rel), 'utf8');

describe('UtilityProcessLauncher', () => {
  it("runs a Node job: messages over parentPort, the launch options honoured, the spec's variables passed, the channel's not", async () => {
    const dir = tempDir();
    // Both workers must say ready, so run() holds its first mini-batch until both have passed init():
    // without it one worker could finish all three before the other has started (as CI saw once).
    const script = `
import { readdirSync, writeFileSync } from 'node:fs';
const barrier = process.env.BARRIER;
export function init() { writeFileSync(barrier + '/' + process.env.PRS_PROCESS_NAME, ''); }
export function run(batch) {
  const until = Date.now() + 20000;
  while (readdirSync(barrier).length < 2 && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  return batch.map((f) => [f.slice(-9), process.cwd(), process.env.PRS_PROCESS_NAME].join(' '));
}`;
    const barrier = path.join(dir, 'barrier');
    mkdirSync(barrier);
    const specPath = nodeJob(dir, {
      script,
      files: 6,
      spec: {
        // NODE_OPTIONS in the spec is the user's own (src/engine/childEnv.ts strips only the host's);
        // a result pipe would stop every worker at start by pointing it at a descriptor it lacks.
        environment_variables: {
          NODE_OPTIONS: '--max-old-space-size=4096',
          PRS_CHANNEL_FD: '3',
          BARRIER: barrier,
        },
      },
    });
    const utility = fakeUtilityProcess();
    const { summary, runDir } = await runJob(specPath, utility);
    expect(summary.status).toBe('completed');
    expect(summary.mini_batches).toEqual({ total: 3, succeeded: 3, failed: 0 });
    const lines = read(runDir, 'outputs/parallel_run_step.txt').trim().split('\n').sort();
    const src = path.join(dir, 'src');
    expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => `f000${i}.txt ${src}`),
    );
    expect(lines.every((l) => /process00[01]$/.test(l))).toBe(true);

    expect(utility.forks.map((f) => f.modulePath)).toEqual([SHIM, SHIM]);
    expect(utility.forks.map((f) => f.args)).toEqual([
      [workerEntryPath(), 'process000'],
      [workerEntryPath(), 'process001'],
    ]);
    const { options } = utility.forks[0]!;
    expect(options).toMatchObject({
      cwd: src,
      stdio: 'pipe',
      serviceName: expect.stringContaining('process000'),
    });
    expect(options.env.NODE_OPTIONS).toBe('--max-old-space-size=4096');
    expect(options.env.PRS_CHANNEL_FD).toBeUndefined();
    expect(options.env.PRS_INPUT_FD).toBeUndefined();
    expect(options.env.PRS_RESULT_SOCKET).toMatch(/results\.sock$/);
    // The Node runtime answers over parentPort: ready, then its results.
    expect(utility.messages.filter((m) => m.t === 'ready')).toHaveLength(2);
    expect(utility.messages.filter((m) => m.t === 'results').length).toBeGreaterThanOrEqual(3);
  });

  it('charges a worker crash to its mini-batch and replaces the worker', async () => {
    const dir = tempDir();
    const script = `
import { existsSync, writeFileSync } from 'node:fs';
export function run(batch) {
  const marker = process.env.MARKER;
  if (batch.some((f) => f.endsWith('f0002.txt')) && !existsSync(marker)) { writeFileSync(marker, 'x'); process.exit(3); }
  return batch;
}`;
    const specPath = nodeJob(dir, {
      script,
      files: 6,
      spec: {
        run_max_try: 2,
        process_count_per_node: 2,
        environment_variables: { MARKER: path.join(dir, 'crashed-once') },
      },
    });
    const { summary, runDir } = await runJob(specPath, fakeUtilityProcess());
    expect(summary.status).toBe('completed');
    expect(summary.items.succeeded).toBe(6);
    const main = read(runDir, 'logs/sys/node/0/_main.txt');
    expect(main).toMatch(/process00[01] exits with returncode 3\./);
    expect(main).toMatch(/process002 starts/);
    const csv = read(runDir, 'logs/sys/job_report/processed_mini-batches.csv');
    expect(csv).toMatch(/\n1,1,crashed,0,process00[01],/);
    expect(csv).toMatch(/\n1,2,succeeded,/);
  });

  it('reports a timeout kill with its signal (returncode -9) and replaces the worker', async () => {
    const dir = tempDir();
    const script = `
export function run(batch) {
  if (batch.some((f) => f.endsWith('f0000.txt'))) { const t = Date.now(); while (Date.now() - t < 60000) {} }
  return batch;
}`;
    const specPath = nodeJob(dir, {
      script,
      files: 4,
      spec: { run_invocation_timeout: 2, run_max_try: 1, process_count_per_node: 1 },
    });
    const { summary, runDir } = await runJob(specPath, fakeUtilityProcess());
    expect(summary.mini_batches).toEqual({ total: 2, succeeded: 1, failed: 1 });
    const main = read(runDir, 'logs/sys/node/0/_main.txt');
    expect(main).toMatch(/process000 exits with returncode -9\./);
    expect(main).toMatch(/process001 starts/);
    const csv = read(runDir, 'logs/sys/job_report/processed_mini-batches.csv');
    expect(csv).toMatch(/\n0,1,timeout,/);
  });

  it('tells a SIGKILL it did not ask for (returncode -9) from an exit(9) (returncode 9)', async () => {
    // The stand-in, like Electron, reports 9 for both: only the worker's own exit note tells them apart.
    const dir = tempDir();
    const script = `
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
function once(name) {
  const marker = path.join(process.env.MARKS, name);
  if (existsSync(marker)) return false;
  writeFileSync(marker, 'x');
  return true;
}
export function run(batch) {
  if (batch.some((f) => f.endsWith('f0000.txt')) && once('killed')) process.kill(process.pid, 'SIGKILL');
  if (batch.some((f) => f.endsWith('f0002.txt')) && once('exited')) process.exit(9);
  return batch;
}`;
    const marks = tempDir('prs-marks-');
    const specPath = nodeJob(dir, {
      script,
      files: 4,
      spec: { run_max_try: 2, process_count_per_node: 1, environment_variables: { MARKS: marks } },
    });
    const { summary, runDir } = await runJob(specPath, fakeUtilityProcess());
    expect(summary.mini_batches).toEqual({ total: 2, succeeded: 2, failed: 0 });
    const main = read(runDir, 'logs/sys/node/0/_main.txt');
    expect(main.match(/exits with returncode -9\./g)).toHaveLength(1);
    expect(main.match(/exits with returncode 9\./g)).toHaveLength(1);
  });

  it('runs a Python job: results reach the leader on the ResultSocket, a crash is charged exactly', async () => {
    const dir = tempDir('prs-pyjob-');
    const marks = tempDir('prs-marks-');
    const files: Record<string, string> = {
      'src/score.py': `
import os
MARKS = ${JSON.stringify(marks)}
def run(mini_batch):
    name = os.path.basename(mini_batch[0])
    mark = os.path.join(MARKS, name)
    if name == "f0001.txt" and not os.path.exists(mark):
        open(mark, "w").close()
        os._exit(3)
    return ["%s %s" % (name, os.environ["PRS_PROCESS_NAME"])]
`,
    };
    for (let i = 0; i < 6; i++) files[`data/f000${i}.txt`] = `item ${i}\n`;
    files['job.json'] = JSON.stringify({
      name: 'py-job',
      entry_script: 'score.py',
      source_directory: './src',
      python: DEBIAN_PYTHON,
      inputs: [{ path: './data', type: 'files' }],
      mini_batch_size: 1,
      process_count_per_node: 2,
      run_max_try: 2,
      run_invocation_timeout: 30,
    });
    writeFiles(dir, files);
    const utility = fakeUtilityProcess();
    const { summary, runDir } = await runJob(path.join(dir, 'job.json'), utility);
    expect(summary.status).toBe('completed');
    expect(summary.mini_batches).toEqual({ total: 6, succeeded: 6, failed: 0 });
    const names = read(runDir, 'outputs/parallel_run_step.txt')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0])
      .sort();
    expect(names).toEqual([0, 1, 2, 3, 4, 5].map((i) => `f000${i}.txt`));
    const csv = read(runDir, 'logs/sys/job_report/processed_mini-batches.csv');
    expect(csv).toMatch(/\n1,1,crashed,/);
    expect(csv).toMatch(/\n1,2,succeeded,/);
    // Every worker said it was ready over parentPort; not one result came that way.
    expect(utility.messages.filter((m) => m.t === 'ready').length).toBeGreaterThanOrEqual(2);
    expect(utility.messages.filter((m) => m.t === 'results')).toEqual([]);
  });

  it('starting a fork that throws is a launch failure, not a crash', async () => {
    const launcher = new UtilityProcessLauncher(
      {
        fork: () => {
          throw new Error('utilityProcess cannot be forked before the app is ready');
        },
      },
      SHIM,
      workerEntryPath,
    );
    const worker = launcher.launch({ name: 'process000', env: {}, cwd: ROOT });
    const info = await new Promise((resolve) => worker.onExit(resolve));
    expect(info).toEqual({
      code: null,
      signal: null,
      reason: 'launch-failed',
      returnCode: 1,
      error: 'utilityProcess cannot be forked before the app is ready',
    });
  });
});

describe('the worker shim', () => {
  it('refuses to run outside a utility process', async () => {
    const child = spawn(process.execPath, [SHIM, workerEntryPath(), 'process000'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/not running in a utilityProcess/);
  });

  it.runIf(process.platform === 'linux')('stops the worker when its parent is gone', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'score.mjs': 'export function run(b) { return b; }' });
    const config: WorkerConfig = {
      runtime: 'node',
      entryScript: path.join(dir, 'score.mjs'),
      sourceDirectory: dir,
      args: [],
      nodeId: '0',
      processName: 'process000',
      loggingLevel: 'INFO',
      outputAction: 'append_row',
      logDir: dir,
      entryLogFile: path.join(dir, 'process000.log.txt'),
      outputDir: dir,
      models: {},
      dataframeHeader: false,
    };
    // A parent that starts a worker the way the stand-in does, waits for its init() to finish (the
    // shim is loaded by then), says its pid and leaves without it.
    const parent = `
const { spawn } = require('node:child_process');
const [preload, shim, worker, config] = process.argv.slice(1);
const child = spawn(process.execPath, ['--import', preload, shim, worker, 'process000'], {
  stdio: ['ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'pipe'],
});
const port = child.stdio[5];
port.on('error', () => {});
port.on('data', (d) => {
  if (String(d).includes('"ready"')) process.stdout.write(String(child.pid), () => process.exit(0));
});
port.write(JSON.stringify({ t: 'init', config: JSON.parse(config) }) + '\\n');`;
    const preload = pathToFileURL(path.join(ROOT, 'test', 'main', 'fixtures', 'parentPort.mjs')).href;
    const starter = spawn(
      process.execPath,
      ['-e', parent, preload, SHIM, workerEntryPath(), JSON.stringify(config)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    starter.stdout.on('data', (d) => (out += d));
    await new Promise((resolve) => starter.on('close', resolve));
    const pid = Number(out);
    expect(pid).toBeGreaterThan(0);
    // Gone, or a zombie nobody reaps (whatever runs as pid 1 here).
    const alive = () => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 30_000;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toBe(false);
  });
});

describe('the AppHost in main', () => {
  it('starts its runs with the utilityProcess launcher', async () => {
    const dir = tempDir();
    // Slow enough that the run is still live when the window opens it.
    const script = 'export async function run(b) { await new Promise((r) => setTimeout(r, 300)); return b; }';
    const specPath = nodeJob(dir, { script, files: 4 });
    const utility = fakeUtilityProcess();
    const events: AppEvent[] = [];
    let finished: (summary: RunSummary) => void = () => undefined;
    const done = new Promise<RunSummary>((resolve) => (finished = resolve));
    const host = await startMainHost({
      utility,
      shimPath: SHIM,
      workerPath: workerEntryPath,
      examplesDir: path.join(ROOT, 'examples'),
      runsDir: path.join(dir, 'runs'),
      onEvent: (event) => {
        events.push(event);
        if (event.type !== 'run-events') return;
        for (const e of event.events) if (e.type === 'finished') finished(e.summary);
      },
    });
    try {
      const { runId } = (await host.target.call('startRun', { specPath })) as { runId: string };
      await host.target.call('openRun', { runId });
      const summary = await done;
      expect(summary.status).toBe('completed');
      expect(utility.forks.length).toBe(2);
    } finally {
      await host.close();
    }
  });
});
