import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attemptsFromCsv, parseCsv, readLogRange, snapshotFromFolder } from '../../src/host/runFolder';
import { resolveInside } from '../../src/host/runFolderPaths';

const HEADER =
  'mini_batch_id,attempt,status,node_id,process_name,pid,items_total,items_succeeded,items_failed,start_time,elapsed_s,process_time_s,run_time_s,error';

describe('run folder reading', () => {
  it('parses quoted CSV fields with commas, quotes and newlines', () => {
    expect(parseCsv('a,b\n"x, y","say ""hi""\nthere"\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"\nthere'],
    ]);
  });

  it('reads attempt rows from processed_mini-batches.csv', () => {
    const rows = attemptsFromCsv(
      `${HEADER}\n0,1,succeeded,0,process000,11,2,2,0,2026-01-01T00:00:00.000Z,0.5,0.4,0.3,\n` +
        `1,1,timeout,0,process001,12,2,0,2,2026-01-01T00:00:01.000Z,30.1,0.2,30,"run() timed out, after 30 s"\n`,
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      miniBatchId: 0,
      attempt: 1,
      status: 'succeeded',
      process: 'process000',
      elapsedS: 0.5,
    });
    expect(rows[1]).toMatchObject({
      status: 'timeout',
      error: 'run() timed out, after 30 s',
      processTimeS: 0.2,
    });
    expect(rows[1].startedAt).toBe(Date.parse('2026-01-01T00:00:01.000Z'));
  });

  it('refuses paths outside the run folder', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'prs-runfolder-'));
    await mkdir(path.join(dir, 'logs'));
    await writeFile(path.join(dir, 'logs', 'a.txt'), 'a');
    await expect(resolveInside(dir, '../etc/passwd')).rejects.toThrow(/not inside/);
    expect(await resolveInside(dir, 'logs/a.txt')).toBe(path.join(dir, 'logs/a.txt'));
  });

  it('reads logs by range', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'prs-runfolder-'));
    await mkdir(path.join(dir, 'outputs'), { recursive: true });
    await writeFile(
      path.join(dir, 'run.json'),
      JSON.stringify({ spec: { append_row_file_name: 'out.txt' } }),
    );
    await writeFile(path.join(dir, 'outputs', 'out.txt'), 'line 0 é\nline 1\n');
    const chunk = await readLogRange(dir, 'outputs/out.txt', 0, 6);
    expect(chunk.data).toBe('line 0');
    await expect(readLogRange(dir, '../x')).rejects.toThrow(/not inside/);
  });

  it('rebuilds a finished run from its folder', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'prs-runfolder-'));
    const summary = {
      status: 'failed',
      exit_code: 42,
      run_dir: dir,
      output_file: null,
      mini_batches: { total: 2, succeeded: 1, failed: 1 },
      items: { succeeded: 2, failed: 2 },
      duration_s: 3,
      reason: 'allowed_failed_count exceeded',
      findings: [
        { kind: 'exception', title: 'ValueError in run()', detail: 'd', remedy: 'r', miniBatchId: 1 },
      ],
    };
    await writeFile(
      path.join(dir, 'run.json'),
      JSON.stringify({
        spec: { name: 'job-x' },
        startedAt: '2026-01-01T00:00:00Z',
        summary,
        environment: { host: 'box-1' },
      }),
    );
    for (const node of ['0', '1']) await mkdir(path.join(dir, 'logs/sys/node', node), { recursive: true });
    await mkdir(path.join(dir, 'logs/sys/job_report'), { recursive: true });
    await writeFile(
      path.join(dir, 'logs/sys/job_report/processed_mini-batches.csv'),
      `${HEADER}\n0,1,succeeded,0,process000,1,2,2,0,,1,1,1,\n1,1,failed,0,process001,2,2,0,2,,1,1,1,ValueError: bad\n`,
    );
    await mkdir(path.join(dir, 'logs/user/stdout/0'), { recursive: true });
    await writeFile(path.join(dir, 'logs/user/stdout/0/process000.stdout.txt'), 'hello\n');
    await mkdir(path.join(dir, 'logs/perf/0'), { recursive: true });
    const sample = {
      node: {
        t: 1,
        cpuPercent: 5,
        memUsedBytes: 1,
        memTotalBytes: 2,
        diskUsedBytes: 0,
        diskTotalBytes: 0,
        gpus: [],
      },
      processes: [{ process: 'process000', pid: 1, cpuPercent: 50, rssBytes: 10 }],
    };
    await writeFile(path.join(dir, 'logs/perf/0/samples.jsonl'), JSON.stringify(sample) + '\n{"torn');
    const snap = await snapshotFromFolder(dir);
    expect(snap).toMatchObject({ name: 'job-x', status: 'failed', live: false });
    expect(snap.progress).toMatchObject({ total: 2, succeeded: 1, failed: 1 });
    expect(snap.attempts.map((a) => a.status)).toEqual(['succeeded', 'failed']);
    expect(snap.workers.map((w) => w.name)).toEqual(['process000', 'process001']);
    expect(snap.terminals.process000).toBe('hello\r\n');
    expect(snap.metrics.node).toHaveLength(1);
    expect(snap.metrics.processes[0]).toMatchObject({ process: 'process000', t: 1 });
    expect(snap.findings[0].title).toMatch(/ValueError/);
    // Its nodes are its node folders, on the host the run ran on, each with the workers it had.
    expect(
      snap.nodes.map(({ id, name, host, processes, state }) => ({ id, name, host, processes, state })),
    ).toEqual([
      { id: '0', name: 'node 0', host: 'box-1', processes: 2, state: 'left' },
      { id: '1', name: 'node 1', host: 'box-1', processes: 0, state: 'left' },
    ]);
  });
});
