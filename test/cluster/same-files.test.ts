// An agent that sees another file at the entry script's path (here: a private mount namespace with
// a different script bound over it, as another machine's checkout would be) never runs it: it
// fetches the leader's code from the run's data endpoint and runs that, so the job's output is the
// leader's script's. Needs root (unshare --mount); without it the test says why it skips.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prs } from '../helpers';
import { cannotUnshare, clusterJob, expectedInputs, marksOn, readOutput, useCluster } from './kit';

const why = cannotUnshare();
if (why) console.warn(`test/cluster/same-files.test.ts skipped: ${why}`);

describe.skipIf(why !== null)('an agent that sees other code at the same path', () => {
  const cluster = useCluster();

  it("runs the leader's copy instead, fetched from the data endpoint", async () => {
    const redis = await cluster.redis();
    const job = clusterJob({ files: 4, delayMs: 0, nodeCount: 1 });
    const entry = path.join(job.dir, 'src', 'score.mjs');
    const other = path.join(job.dir, 'other.mjs');
    writeFileSync(other, `export function run(b) { return b.map(() => 'not the job'); }\n`);
    const agent = await cluster.agent(redis.url, 'elsewhere', 1, { mount: ['--bind', other, entry] });

    const r = await prs(['run', job.spec, '--cluster', redis.url, '--json']);
    expect(r.code, r.stderr + agent.log()).toBe(0);
    const out = readOutput(r.json!.output_file as string);
    expect(out.inputs).toEqual(expectedInputs(4));
    expect(out.duplicates).toEqual([]);
    expect(out.nodes.get('elsewhere')).toBe(4);
    expect(readFileSync(r.json!.output_file as string, 'utf8')).not.toContain('not the job');
    expect(agent.log()).toContain(
      `Agent elsewhere: ${path.dirname(entry)} is not the leader's here; using the leader's copy`,
    );
    // The inputs are the same files here (one file system): only the code was fetched.
    expect(marksOn(job, 'elsewhere')).toBe(4);
  });
});
