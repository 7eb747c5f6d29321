// `prs serve` told to stop (SIGTERM, as Ctrl-C's SIGINT) exits even while it indexes a huge output
// file in the background: the scan used to hold the event loop open until it reached the end.

import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers';
import { connect, startServe, type Serve } from './serve';

let serve: Serve | null = null;
let root = '';
afterEach(async () => {
  await serve?.stop();
  serve = null;
  rmSync(root, { recursive: true, force: true });
});

describe('prs serve stops when told to', () => {
  it('exits on SIGTERM while a background scan of a 1 TB output file is under way', async () => {
    root = tempDir();
    const runDir = path.join(root, 'runs', 'huge', 'run-1');
    mkdirSync(path.join(runDir, 'outputs'), { recursive: true });
    writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({ spec: { name: 'huge' } }));
    // 1 TB of which two 4 MB lines are data and the rest a hole: scanning it to the end takes the
    // host minutes on any machine, so a host that waits for the scan cannot pass the wait below.
    const LINE = 4 * 1024 ** 2;
    const fd = openSync(path.join(runDir, 'outputs', 'parallel_run_step.txt'), 'w');
    try {
      writeSync(fd, '\n', LINE - 1);
      writeSync(fd, '\n', 2 * LINE - 1);
      writeSync(fd, '\n', 1024 ** 4 - 1);
    } finally {
      closeSync(fd);
    }
    serve = await startServe(['--runs-dir', path.join(root, 'runs')]);
    const client = await connect(serve);
    const page = await client.request('readOutputPage', { runDir, maxLines: 2 });
    expect(page.ok, JSON.stringify(page).slice(0, 300)).toBe(true);
    // The first page is out and the rest of the file is being indexed: it has no total yet.
    expect((page as { result: { totalLines: number | null } }).result.totalLines).toBeNull();
    client.ws.close();

    const child = serve.child;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<'still running'>((r) => setTimeout(() => r('still running'), 45_000)),
    ]);
    expect(code).toBe(0);
  }, 90_000);
});
