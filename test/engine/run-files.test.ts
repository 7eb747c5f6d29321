// The happy path through the real CLI on file inputs, and the run folder it leaves.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeJob, prs, tempDir } from '../helpers';

const ECHO = `
export async function init(ctx) { ctx.logger.info('init in ' + ctx.agentName); console.log('init', ctx.args.join(' ')); }
export async function run(batch, ctx) {
  console.log('batch of', batch.length, 'on', ctx.agentName);
  console.error('to stderr');
  return batch.map((f) => f.split('/').pop());
}
export async function shutdown(ctx) { ctx.logger.info('bye from ' + ctx.agentName); }
`;

describe('prs run on files', () => {
  it('runs every mini-batch, writes each returned element once, and the whole log tree', async () => {
    const dir = tempDir();
    const spec = nodeJob(dir, {
      script: ECHO,
      files: 25,
      spec: { mini_batch_size: 3, arguments: ['--x', '1'] },
    });
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.stderr).not.toMatch(/Internal error/);
    expect(r.code).toBe(0);
    const s = r.json!;
    expect(s.status).toBe('completed');
    expect(s.mini_batches).toEqual({ total: 9, succeeded: 9, failed: 0 });
    expect(s.items).toEqual({ succeeded: 25, failed: 0 });
    expect(s.run_dir.startsWith(path.join(dir, 'runs', 'test-job'))).toBe(true);

    const lines = readFileSync(s.output_file!, 'utf8').trim().split('\n').sort();
    expect(lines).toEqual(Array.from({ length: 25 }, (_, i) => `f${String(i).padStart(4, '0')}.txt`));

    const logs = path.join(s.run_dir, 'logs');
    const csv = readFileSync(path.join(logs, 'sys/job_report/processed_mini-batches.csv'), 'utf8')
      .trim()
      .split('\n');
    // Which processes ran mini-batches depends on timing; every one of them has its files.
    const procs = [...new Set(csv.slice(1).map((l) => l.split(',')[4]!))];
    expect(procs.length).toBeGreaterThan(0);
    const files = [
      'readme.txt',
      'job_result.txt',
      'job_error.txt',
      'sys/master_role.txt',
      'sys/node/0/_main.txt',
    ];
    for (const p of procs) {
      files.push(
        `sys/node/0/${p}.txt`,
        `user/stdout/0/${p}.stdout.txt`,
        `user/stderr/0/${p}.stderr.txt`,
        `user/entry_script_log/0/${p}.log.txt`,
      );
    }
    for (const f of files) expect(existsSync(path.join(logs, f)), f).toBe(true);
    const p0 = procs[0]!;
    expect(readdirSync(logs).some((f) => /^job_progress_overview\.\d{8}\.txt$/.test(f))).toBe(true);
    const overview = readdirSync(logs).find((f) => f.startsWith('job_progress_overview'))!;
    expect(readFileSync(path.join(logs, overview), 'utf8')).toMatch(
      /Processed 9 of 9 mini batches in \d+:\d\d:\d\d/,
    );

    expect(readFileSync(path.join(logs, 'job_result.txt'), 'utf8')).toMatch(/^Job completed\./);
    expect(csv[0]).toBe(
      'mini_batch_id,attempt,status,node_id,process_name,pid,items_total,items_succeeded,items_failed,start_time,elapsed_s,process_time_s,run_time_s,error',
    );
    expect(csv.length).toBe(10);
    expect(csv.slice(1).every((l) => l.split(',')[2] === 'succeeded')).toBe(true);

    const stdout = readFileSync(path.join(logs, `user/stdout/0/${p0}.stdout.txt`), 'utf8');
    expect(stdout).toContain('init --x 1');
    expect(stdout).toMatch(new RegExp(`batch of \\d on ${p0}`));
    expect(readFileSync(path.join(logs, `user/stderr/0/${p0}.stderr.txt`), 'utf8')).toContain('to stderr');
    const entryLog = readFileSync(path.join(logs, `user/entry_script_log/0/${p0}.log.txt`), 'utf8');
    expect(entryLog).toMatch(new RegExp(`INFO ${p0} init in ${p0}`));
    expect(entryLog).toMatch(new RegExp(`bye from ${p0}`));
    const main = readFileSync(path.join(logs, 'sys/node/0/_main.txt'), 'utf8');
    expect(main).toMatch(new RegExp(`${p0} exits with returncode 0`));
    expect(readFileSync(path.join(logs, `sys/node/0/${p0}.txt`), 'utf8')).toMatch(
      /mini-batch \d+ attempt 1 succeeded: pid \d+, ip 127.0.0.1, items total \d, succeeded \d, failed 0, elapsed [\d.]+ s, process time [\d.]+ s, run\(\) time [\d.]+ s/,
    );
    const record = JSON.parse(readFileSync(path.join(s.run_dir, 'run.json'), 'utf8'));
    expect(record.spec.name).toBe('test-job');
    expect(record.summary.status).toBe('completed');
  });

  it('summary_only counts successes and writes no output file', async () => {
    const dir = tempDir();
    const spec = nodeJob(dir, { script: ECHO, files: 4, spec: { output_action: 'summary_only' } });
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(0);
    expect(r.json!.output_file).toBeNull();
    expect(r.json!.items.succeeded).toBe(4);
    expect(existsSync(path.join(r.json!.run_dir, 'outputs', 'parallel_run_step.txt'))).toBe(false);
  });

  it('names the contract when run() returns something that is not an array; short returns pass with error_threshold -1', async () => {
    const dir = tempDir();
    const script = `
export function run(batch) {
  if (batch.some((f) => f.endsWith('f0000.txt'))) return 'oops';
  return batch.slice(1);
}`;
    const spec = nodeJob(dir, { script, files: 6, spec: { run_max_try: 1, process_count_per_node: 1 } });
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 3, succeeded: 2, failed: 1 });
    // The two short returns are not checked (error_threshold -1): only the string's two items fail.
    expect(r.json!.items).toEqual({ succeeded: 2, failed: 2 });
    const errors = readFileSync(path.join(r.json!.run_dir, 'logs/job_error.txt'), 'utf8');
    expect(errors).toMatch(/ReturnValueError: run\(\) returned a string \(oops\); it must return an array/);
  });
});
