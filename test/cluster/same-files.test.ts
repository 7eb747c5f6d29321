// Agents read the job's code by path. An agent that sees another file at the entry script's path
// (here: a private mount namespace with a different script bound over it, as another machine's
// checkout would be) refuses to run it, and the job fails saying which file differs. Needs root
// (unshare --mount); without it the test says why it skips.

import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRedis } from '../../src/engine/cluster/localRedis';
import { PRS, prs, ROOT } from '../helpers';
import { CLUSTER_ENV, clusterJob, marksOn, startRedis, stopAll, waitFor, type AgentProc } from './kit';

function cannotUnshare(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for a private mount namespace (unshare --mount)';
  try {
    execFileSync('unshare', ['--mount', '--propagation', 'private', 'true'], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `unshare --mount is not usable here: ${(err as Error).message.split('\n')[0]}`;
  }
}

const why = cannotUnshare();
if (why) console.warn(`test/cluster/same-files.test.ts skipped: ${why}`);

describe.skipIf(why !== null)('an agent that sees other code at the same path', () => {
  let redis: LocalRedis | undefined;
  let agents: AgentProc[] = [];
  afterEach(async () => {
    await stopAll(agents, redis);
    agents = [];
  });

  it('refuses to run it, and the job fails naming the file', async () => {
    redis = await startRedis();
    const job = clusterJob({ files: 4, delayMs: 0, nodeCount: 1 });
    const entry = path.join(job.dir, 'src', 'score.mjs');
    const other = path.join(job.dir, 'other.mjs');
    writeFileSync(other, `export function run(b) { return b.map(() => 'not the job'); }\n`);
    const child = spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount --bind "$0" "$1" && exec "$2" "$3" agent --cluster "$4" --name elsewhere --processes 1 --gpus none',
        other,
        entry,
        process.execPath,
        PRS,
        redis.url,
      ],
      { cwd: ROOT, env: { ...process.env, ...CLUSTER_ENV }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let text = '';
    child.stderr!.on('data', (d) => (text += d));
    child.stdout!.on('data', (d) => (text += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    agents = [{ name: 'elsewhere', child, log: () => text, exited }];
    await waitFor('the agent to join', () => (/joined the cluster/.test(text) ? true : undefined), 30_000);

    const r = await prs(['run', job.spec, '--cluster', redis.url, '--json']);
    expect(r.code, r.stderr).toBe(42);
    expect(r.json!.reason).toContain(`agent elsewhere: ${entry} here is not the leader's`);
    expect(r.json!.reason).toMatch(/the agents must see the job's files at the leader's paths/);
    expect(text).toMatch(/Agent elsewhere: refusing process000/);
    expect(marksOn(job, 'elsewhere')).toBe(0);
  });
});
