// The README's walk-through: `prs cluster up --nodes N` starts a Redis of its own and N agents in
// the foreground, prints the URL a run uses, keeps their files in its folder, and Ctrl-C stops them all.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRS, prs, ROOT, tempDir } from '../helpers';
import { CLUSTER_ENV, clusterJob, readOutput, waitFor } from './kit';

describe('prs cluster up', () => {
  it('gives a URL that runs a 2-node job, lists its nodes, and stops everything on Ctrl-C', async () => {
    const dir = tempDir('prs-cluster-up-');
    const up = spawn(
      process.execPath,
      [PRS, 'cluster', 'up', '--nodes', '2', '--processes', '1', '--dir', dir],
      {
        cwd: ROOT,
        env: { ...process.env, ...CLUSTER_ENV },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let text = '';
    up.stdout!.on('data', (d) => (text += d));
    up.stderr!.on('data', (d) => (text += d));
    const exited = new Promise<number | null>((resolve) => up.once('exit', (code) => resolve(code)));
    try {
      const url = await waitFor(
        'the URL',
        () => /Redis at (redis:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1],
        30_000,
      );
      await waitFor(
        'both agents',
        () => ((text.match(/joined the cluster/g) ?? []).length === 2 ? true : undefined),
        30_000,
      );
      const status = await prs(['cluster', 'status', '--cluster', url]);
      expect(status.stdout).toMatch(/^node-0\s/m);
      expect(status.stdout).toMatch(/^node-1\s/m);
      // The barrier: both nodes' workers begin a mini-batch before any goes on, so both ran some.
      const job = clusterJob({ files: 8, delayMs: 300, nodeCount: 2, barrier: true });
      const r = await prs(['run', job.spec, '--cluster', url, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect([...readOutput(r.json!.output_file!).nodes.keys()].sort()).toEqual(['node-0', 'node-1']);
      // Redis keeps its AOF in the folder given, and each agent its cache of files fetched from leaders.
      expect(existsSync(path.join(dir, 'redis'))).toBe(true);
      for (const node of ['node-0', 'node-1'])
        expect(text).toContain(`files fetched from leaders go to ${path.join(dir, 'agents', node)}.`);
      up.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(text).toMatch(/Agent node-0 left the cluster/);
      const after = await prs(['cluster', 'status', '--cluster', url]);
      expect(after.code).toBe(2);
    } finally {
      up.kill('SIGKILL');
    }
  });
});
