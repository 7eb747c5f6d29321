// A worker process's exit is reported once what it printed has been read (src/engine/workerEvents.ts):
// a real worker forked by ForkLauncher (the built bundle: run `npm run build` first), whose stdout a
// process it started still holds when it dies.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { WorkerConfig } from '../../src/common/protocol';
import { ForkLauncher, type ExitInfo } from '../../src/engine/launcher';
import { tempDir } from '../helpers';

function nodeConfig(dir: string, script: string): WorkerConfig {
  const src = path.join(dir, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, 'score.mjs'), script);
  const logDir = path.join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  return {
    runtime: 'node',
    entryScript: path.join(src, 'score.mjs'),
    sourceDirectory: src,
    args: [],
    nodeId: '0',
    processName: 'process000',
    loggingLevel: 'INFO',
    outputAction: 'append_row',
    logDir,
    entryLogFile: path.join(logDir, 'process000.log.txt'),
    outputDir: path.join(dir, 'outputs'),
    models: {},
    dataframeHeader: false,
  };
}

describe.runIf(process.platform === 'linux')('a worker process that dies', () => {
  test('its exit is reported after the last line on its stdout, printed by a process it started', async () => {
    // The child waits until the worker is gone (reaped: a zombie still answers kill -0), then prints.
    // Before: the exit was reported as soon as the result channel closed, ahead of that line.
    const script = `import { spawn } from 'node:child_process';
export function run() {
  const wait = 'while kill -0 ' + process.pid + ' 2>/dev/null; do sleep 0.01; done; echo late-line';
  spawn('sh', ['-c', wait], { stdio: ['ignore', 'inherit', 'inherit'] }).unref();
  process.exit(3);
}
`;
    const config = nodeConfig(tempDir(), script);
    const worker = new ForkLauncher().launch({
      name: 'process000',
      env: { ...(process.env as Record<string, string>) },
      cwd: config.sourceDirectory,
      config,
    });
    let stdout = '';
    worker.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    worker.stderr!.resume();
    const exit = new Promise<{ info: ExitInfo; stdout: string }>((resolve) =>
      worker.onExit((info) => resolve({ info, stdout })),
    );
    worker.onMessage((m) => {
      if (m.t === 'ready')
        worker.send({
          t: 'run',
          batches: [{ id: 0, items: 1, bytes: 0, sources: [{ kind: 'files', files: ['a'] }] }],
        });
    });
    worker.send({ t: 'init', config });
    const { info, stdout: atExit } = await exit;
    expect(info).toMatchObject({ code: 3, reason: 'crashed', returnCode: 3 });
    expect(atExit).toContain('late-line');
  }, 60_000);
});

describe.runIf(process.platform === 'linux')('a Node worker forked by ForkLauncher', () => {
  test('gets no result socket (only a Python driver writes to one), even one in the environment', async () => {
    const script = `export function run(batch) { return [String(process.env.PRS_RESULT_SOCKET)]; }\n`;
    const config = nodeConfig(tempDir(), script);
    const worker = new ForkLauncher().launch({
      name: 'process000',
      env: { ...(process.env as Record<string, string>), PRS_RESULT_SOCKET: '/tmp/inherited.sock' },
      cwd: config.sourceDirectory,
      config,
    });
    worker.stdout!.resume();
    worker.stderr!.resume();
    const lines = new Promise<string[]>((resolve) =>
      worker.onMessage((m) => {
        if (m.t === 'ready')
          worker.send({
            t: 'run',
            batches: [{ id: 0, items: 1, bytes: 0, sources: [{ kind: 'files', files: ['a'] }] }],
          });
        if (m.t === 'results')
          resolve(m.results.flatMap((r) => (r.status === 'done' ? (r.lines ?? []) : [])));
      }),
    );
    const exit = new Promise<ExitInfo>((resolve) => worker.onExit(resolve));
    worker.send({ t: 'init', config });
    expect(await lines).toEqual(['undefined']);
    worker.send({ t: 'stop' });
    expect((await exit).code).toBe(0);
  }, 60_000);
});
