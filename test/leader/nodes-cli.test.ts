// Simulated nodes and the worker protocol end to end: the real CLI, real worker processes.

import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeJob, prs, tempDir } from '../helpers';

process.env.PRS_DATA_DIR ??= tempDir('prs-data-');

/**
 * Each output line: the input, and the node and process that ran it. A mini-batch waits until
 * every worker of both nodes has begun one (a marker file per process), so no worker can take the
 * whole plan before the others are ready: each of the four runs a mini-batch, and none is still
 * starting when the job ends (its log would then say it was stopped, not that it exited with 0).
 */
const WHO = `
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
export async function run(batch) {
  const node = process.env.PRS_NODE_ID;
  writeFileSync(path.join(process.env.MARKS, process.env.PRS_PROCESS_NAME), '');
  for (let i = 0; i < 250 && readdirSync(process.env.MARKS).length < 4; i++)
    await new Promise((r) => setTimeout(r, 100));
  return batch.map((f) => path.basename(f) + ' ' + node + ' ' + process.env.PRS_PROCESS_NAME);
}`;

describe('node_count without a cluster', () => {
  it('node_count: 2 runs two simulated nodes: every input once, each node its own log folders and workers', async () => {
    const dir = tempDir('prs-nodes-');
    const spec = nodeJob(dir, {
      script: WHO,
      files: 12,
      spec: { node_count: 2, process_count_per_node: 2, mini_batch_size: 1 },
    });
    const marks = tempDir('prs-marks-');
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json'], {
      env: { MARKS: marks },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 12, succeeded: 12, failed: 0 });
    const lines = readFileSync(r.json!.output_file!, 'utf8').trim().split('\n');
    // Exactly once: 12 lines, 12 different inputs.
    expect(lines).toHaveLength(12);
    expect(new Set(lines.map((l) => l.split(' ')[0])).size).toBe(12);

    // Process names are job-wide: node 0 starts process000 and process001, node 1 process002 and 003.
    const ranOn = new Map(lines.map((l) => [l.split(' ')[2]!, l.split(' ')[1]!]));
    for (const [proc, node] of ranOn) expect(node).toBe(proc < 'process002' ? '0' : '1');
    expect(new Set(ranOn.values())).toEqual(new Set(['0', '1']));
    expect([...ranOn.keys()].sort()).toEqual(['process000', 'process001', 'process002', 'process003']);
    const logs = path.join(r.json!.run_dir, 'logs');
    const node = (id: string, names: string[]) => {
      const main = readFileSync(path.join(logs, `sys/node/${id}/_main.txt`), 'utf8');
      for (const name of names) {
        expect(main).toMatch(new RegExp(`${name} starts with pid \\d+`));
        expect(main).toMatch(new RegExp(`${name} exits with returncode 0`));
        expect(existsSync(path.join(logs, `sys/node/${id}/${name}.txt`))).toBe(true);
        expect(existsSync(path.join(logs, `user/stdout/${id}/${name}.stdout.txt`))).toBe(true);
        expect(existsSync(path.join(logs, `user/stderr/${id}/${name}.stderr.txt`))).toBe(true);
      }
      expect(existsSync(path.join(logs, `perf/${id}/samples.jsonl`))).toBe(true);
    };
    node('0', ['process000', 'process001']);
    node('1', ['process002', 'process003']);
    // The journal's report names the node of every attempt.
    const csv = readFileSync(path.join(logs, 'sys/job_report/processed_mini-batches.csv'), 'utf8')
      .trim()
      .split('\n');
    const nodeOf = csv.slice(1).map((row) => row.split(',')[3]);
    expect(new Set(nodeOf)).toEqual(new Set(['0', '1']));
    const master = readFileSync(path.join(logs, 'sys/master_role.txt'), 'utf8');
    expect(master).toContain('2 process(es) on each of 2 nodes (0, 1)');
    // 4 workers on a machine with fewer cores is said; with enough cores, nothing is.
    if (os.availableParallelism() < 4)
      expect(master).toContain('node_count 2 × 2 process(es) per node = 4 worker processes');
    else expect(master).not.toContain('worker processes on this machine');
  });
});

describe('the worker protocol', () => {
  it("a line on a worker's channel that is no message is named as that worker's protocol error; the leader goes on", async () => {
    const dir = tempDir('prs-protocol-');
    const script = `
import { existsSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
export function run(batch) {
  const mark = path.join(process.env.MARKS, 'broke');
  if (!existsSync(mark)) {
    writeFileSync(mark, '');
    writeSync(Number(process.env.PRS_CHANNEL_FD), 'not json\\n');
  }
  return batch.map((f) => path.basename(f));
}`;
    const marks = tempDir('prs-marks-');
    const spec = nodeJob(dir, { script, files: 4, spec: { process_count_per_node: 1, mini_batch_size: 1 } });
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json'], {
      env: { MARKS: marks },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 4, succeeded: 4, failed: 0 });
    const lines = readFileSync(r.json!.output_file!, 'utf8').trim().split('\n');
    expect(lines.sort()).toEqual(['f0000.txt', 'f0001.txt', 'f0002.txt', 'f0003.txt']);
    const master = readFileSync(path.join(r.json!.run_dir, 'logs/sys/master_role.txt'), 'utf8');
    expect(master).toContain(
      'process000 on node 0 broke the worker protocol: a line that is not JSON ("not json"); expected one JSON message per line; process000 is stopped and replaced.',
    );
    expect(master).toMatch(/mini-batch \d attempt 1 crashed on process000 \(ProtocolError: /);
  });
});
