import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeSample, ProcessSample } from '../../src/common/events';
import {
  DISK_CSV,
  DISK_CSV_HEADER,
  NODE_CSV,
  PROCESSES_CSV,
  PROCESSES_CSV_HEADER,
  ResourceMonitor,
  type ResourceMonitorOptions,
  nodeCsvHeader,
} from '../../src/engine/monitor';
import { sysconfValues } from '../../src/engine/monitor/procfs';

const linux = process.platform === 'linux';
const fakeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/nvidia-smi');
const MiB = 1024 * 1024;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'prs-monitor-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A Node process running `code`; killed after the test. Resolves once it printed "ready". */
async function node(code: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  return child;
}

// A worker-like parent that starts a subprocess holding `mb` MiB of touched memory.
const parentWithHungryChild = (mb: number): string => `
  const { spawn } = require('node:child_process');
  const child = spawn(process.execPath, ['-e', \`
    const b = Buffer.alloc(${mb} * 1024 * 1024); b.fill(7);
    console.log('ready');
    // Ends with its parent, whichever way the parent goes.
    const ppid = process.ppid; setInterval(() => { b[0]++; if (process.ppid !== ppid) process.exit(); }, 100);
  \`], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (d) => { if (String(d).includes('ready')) console.log('ready'); });
  setInterval(() => {}, 1000);
`;

function monitorFor(dir: string, extra: Partial<ResourceMonitorOptions> = {}): ResourceMonitor {
  const m = new ResourceMonitor({
    nodeId: 'node000',
    perfDir: path.join(dir, 'logs', 'perf', 'node000'),
    runDir: dir,
    intervalS: 0,
    sampleMs: 200,
    gpus: [],
    ...extra,
  });
  cleanups.push(() => m.stop());
  return m;
}

/** Resolves with the first sample for which `pred` holds. */
function sampleWhere(
  m: ResourceMonitor,
  pred: (node: NodeSample, processes: ProcessSample[]) => boolean,
  timeoutMs = 15_000,
): Promise<{ node: NodeSample; processes: ProcessSample[] }> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new Error('no matching sample in time'));
    }, timeoutMs);
    m.onSample((node, processes) => {
      if (done || !pred(node, processes)) return;
      done = true;
      clearTimeout(timer);
      resolve({ node, processes });
    });
  });
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(linux)('ResourceMonitor on Linux', () => {
  it('knows the clock tick and page size getconf reports, without asking it', () => {
    const ask = (name: string) => Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    expect(sysconfValues()).toEqual({ clockTicks: ask('CLK_TCK'), pageSize: ask('PAGESIZE') });
  });

  it('samples the node and the leader', async () => {
    const m = monitorFor(tempDir());
    m.start();
    const { node, processes } = await sampleWhere(m, () => true);
    expect(node.memTotalBytes).toBeGreaterThan(0);
    expect(node.memUsedBytes).toBeGreaterThan(0);
    expect(node.memUsedBytes).toBeLessThanOrEqual(node.memTotalBytes);
    expect(node.diskTotalBytes).toBeGreaterThan(0);
    expect(node.diskUsedBytes).toBeGreaterThan(0);
    expect(node.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(node.cpuPercent).toBeLessThanOrEqual(100);
    expect(node.gpus).toEqual([]);
    const leader = processes.find((p) => p.process === 'leader');
    expect(leader?.pid).toBe(process.pid);
    expect(leader?.rssBytes).toBeGreaterThan(10 * MiB);
  });

  it("counts a worker's subprocesses in its memory", async () => {
    const parent = await node(parentWithHungryChild(150));
    const m = monitorFor(tempDir());
    m.setProcesses([{ process: 'process000', pid: parent.pid as number }]);
    m.start();
    const { processes } = await sampleWhere(m, (_, ps) => ps.some((p) => p.process === 'process000'));
    const worker = processes.find((p) => p.process === 'process000') as ProcessSample;
    expect(worker.pid).toBe(parent.pid);
    // The parent alone holds ~40 MiB; with the child, over 150 MiB.
    expect(worker.rssBytes).toBeGreaterThan(150 * MiB);
    const leader = processes.find((p) => p.process === 'leader') as ProcessSample;
    // The leader is sampled on its own, not with its children.
    expect(leader.rssBytes).toBeLessThan(worker.rssBytes + 2000 * MiB);
  });

  it('finds a subprocess started after monitoring began, and its CPU', async () => {
    const parent = await node(`
      const { spawn } = require('node:child_process');
      console.log('ready');
      setTimeout(() => {
        const c = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
        console.log('busy ' + c.pid);
      }, 500);
      setInterval(() => {}, 1000);
    `);
    let busy = 0;
    parent.stdout?.on('data', (d: Buffer) => {
      const m = /busy (\d+)/.exec(d.toString());
      if (m) busy = Number(m[1]);
    });
    cleanups.push(() => {
      if (busy) process.kill(busy, 'SIGKILL');
    });
    const m = monitorFor(tempDir(), { scanEvery: 3 });
    m.setProcesses([{ process: 'process000', pid: parent.pid as number }]);
    m.start();
    // The parent idles (~0%); its busy child gets a good part of a core even beside a CPU hog.
    const { processes } = await sampleWhere(
      m,
      (_, ps) => ps.some((p) => p.process === 'process000' && p.cpuPercent > 20),
      30_000,
    );
    expect(busy).toBeGreaterThan(0);
    expect(processes.find((p) => p.process === 'process000')?.cpuPercent).toBeLessThan(250);
  });

  it('counts the CPU of a subprocess that exits once, not twice', async () => {
    // The child burns ~2 s of CPU, says how much CPU it used in all, and exits; the parent reaps
    // it, so the child's time moves into the parent's cutime. The worker's CPU over time must add
    // up to the child's time, measured against what the child itself reports (not a stopwatch).
    const parent = await node(`
      const { spawn } = require('node:child_process');
      console.log('ready');
      setTimeout(() => {
        const c = spawn(process.execPath, ['-e', 'const t = process.cpuUsage(); while ((u => u.user + u.system)(process.cpuUsage(t)) < 2e6) {} const u = process.cpuUsage(); console.log("cpu " + (u.user + u.system) / 1e6)'], { stdio: ['ignore', 'pipe', 'ignore'] });
        c.stdout.on('data', (d) => process.stdout.write(String(d)));
        c.on('exit', () => console.log('child done'));
      }, 400);
      setInterval(() => {}, 1000);
    `);
    let childDone = false;
    let childCpu = 0;
    parent.stdout?.on('data', (d: Buffer) => {
      const text = d.toString();
      const cpu = /cpu ([\d.]+)/.exec(text);
      if (cpu) childCpu = Number(cpu[1]);
      if (text.includes('child done')) childDone = true;
    });
    const m = monitorFor(tempDir(), { sampleMs: 250, scanEvery: 4 });
    m.setProcesses([{ process: 'process000', pid: parent.pid as number }]);
    let cpuSeconds = 0;
    let last: number | null = null;
    let samplesAfterDone = 0;
    m.onSample((n, ps) => {
      const w = ps.find((p) => p.process === 'process000');
      if (w && last !== null) cpuSeconds += (w.cpuPercent / 100) * ((n.t - last) / 1000);
      last = n.t;
      if (childDone) samplesAfterDone++;
    });
    m.start();
    const deadline = Date.now() + 50_000;
    // A few samples after the reaping, however long the machine takes to get there.
    while (samplesAfterDone < 6 && Date.now() < deadline) await delay(100);
    expect(childDone).toBe(true);
    expect(samplesAfterDone).toBeGreaterThanOrEqual(6);
    await m.stop();
    expect(childCpu).toBeGreaterThanOrEqual(2);
    // Counted once: about the child's own total (plus the idle parent's little); counted twice it
    // would be twice that. The margin is for samples whose timestamps a loaded machine skews.
    expect(cpuSeconds).toBeGreaterThan(childCpu * 0.6);
    expect(cpuSeconds).toBeLessThan(childCpu * 1.5);
  });

  it('writes the perf files at each check, with headers, and nothing after stop()', async () => {
    const dir = tempDir();
    const perfDir = path.join(dir, 'logs', 'perf', 'node000');
    const parent = await node(parentWithHungryChild(20));
    const m = monitorFor(dir, { intervalS: 1, sampleMs: 250 });
    m.setProcesses([{ process: 'process000', pid: parent.pid as number }]);
    m.start();
    const lines = (file: string) => readFileSync(path.join(perfDir, file), 'utf8').trimEnd().split('\n');
    // Four checks, however long the machine takes to make them.
    const deadline = Date.now() + 45_000;
    const nodeRowCount = () => (existsSync(path.join(perfDir, NODE_CSV)) ? lines(NODE_CSV).length - 1 : 0);
    while (nodeRowCount() < 4 && Date.now() < deadline) await delay(100);
    await m.stop();
    const nodeRows = lines(NODE_CSV);
    expect(nodeRows[0]).toBe(nodeCsvHeader([]));
    expect(nodeRows[0]).toBe('time,cpu_percent,memory_used_bytes,memory_total_bytes,memory_percent');
    expect(nodeRows.length - 1).toBeGreaterThanOrEqual(4);
    // One check a second, not one a sample (250 ms): by the rows' own times (whole seconds), four
    // checks span at least 2 s; at every sample they would span under 1 s.
    const times = nodeRows.slice(1).map((r) => Date.parse(r.split(',')[0]!));
    expect(times[3]! - times[0]!).toBeGreaterThanOrEqual(2000);
    expect(nodeRows[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d,\d+\.\d,\d+,\d+,\d+\.\d$/);
    const procRows = lines(PROCESSES_CSV);
    expect(procRows[0]).toBe(PROCESSES_CSV_HEADER);
    const workerRow = procRows.find((r) => r.split(',')[1] === 'process000') as string;
    const cols = workerRow.split(',');
    expect(Number(cols[2])).toBe(parent.pid);
    expect(Number(cols[5])).toBeGreaterThan(20 * MiB);
    expect(Number(cols[6])).toBeGreaterThanOrEqual(Number(cols[5]));
    expect(procRows.some((r) => r.split(',')[1] === 'leader')).toBe(true);
    const diskRows = lines(DISK_CSV);
    expect(diskRows[0]).toBe(DISK_CSV_HEADER);
    expect(diskRows[1].split(',')[1]).toBe(dir);
    expect(Number(diskRows[1].split(',')[2])).toBeGreaterThan(0);
    // os/<YYYYMMDDHH>/processes_<MM>: a ps listing that shows the worker.
    const hours = readdirSync(path.join(perfDir, 'os'));
    expect(hours[0]).toMatch(/^\d{10}$/);
    const listings = readdirSync(path.join(perfDir, 'os', hours[0]));
    expect(listings[0]).toMatch(/^processes_\d\d$/);
    const listing = readFileSync(path.join(perfDir, 'os', hours[0], listings[0]), 'utf8');
    expect(listing).toMatch(/PID/);
    expect(listing).toContain(String(parent.pid));
    // stop() flushed everything and nothing more is written.
    const size = statSync(path.join(perfDir, NODE_CSV)).size;
    await delay(1200);
    expect(statSync(path.join(perfDir, NODE_CSV)).size).toBe(size);
  });

  it('writes no perf files when the interval is 0', async () => {
    const dir = tempDir();
    const m = monitorFor(dir, { intervalS: 0 });
    m.start();
    await sampleWhere(m, () => true);
    await m.stop();
    expect(existsSync(path.join(dir, 'logs', 'perf'))).toBe(false);
  });

  it('keeps the last samples of a worker killed by SIGKILL, for the OOM report', async () => {
    const parent = await node(parentWithHungryChild(60));
    const m = monitorFor(tempDir());
    m.setProcesses([{ process: 'process003', pid: parent.pid as number }]);
    m.start();
    await sampleWhere(m, () => m.lastSamples('process003').length >= 3);
    const exited = new Promise<NodeJS.Signals | null>((r) =>
      parent.once('exit', (_code, signal) => r(signal)),
    );
    parent.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    m.setProcesses([]);
    await delay(500);
    const last = m.lastSamples('process003', 5);
    expect(last.length).toBeGreaterThanOrEqual(3);
    expect(last.every((s) => s.pid === parent.pid && s.rssBytes > 60 * MiB)).toBe(true);
    expect(m.lastSamples('process003', 2)).toHaveLength(2);
    expect(m.lastSamples('nobody')).toEqual([]);
  });

  it('keeps the history of the run for redrawing', async () => {
    const m = monitorFor(tempDir(), { sampleMs: 100 });
    m.start();
    await sampleWhere(m, () => m.history().node.length >= 3);
    await m.stop();
    const h = m.history();
    expect(h.node.length).toBeGreaterThanOrEqual(3);
    expect(h.processes).toHaveLength(h.node.length);
    for (let i = 1; i < h.node.length; i++) expect(h.node[i].t).toBeGreaterThan(h.node[i - 1].t);
  });
});

describe("a remote node's monitor (its samples come from its cluster agent)", () => {
  const GiB = 1024 * MiB;
  const sample = (t: number): NodeSample => ({
    t,
    cpuPercent: 12.5,
    memUsedBytes: 3 * GiB,
    memTotalBytes: 8 * GiB,
    diskUsedBytes: 40 * GiB,
    diskTotalBytes: 100 * GiB,
    gpus: [{ index: 1, utilPercent: 90, memUsedBytes: 2 * GiB, memTotalBytes: 16 * GiB }],
  });
  const worker = (rssMiB: number): ProcessSample[] => [
    { process: 'process003', pid: 4242, cpuPercent: 50, rssBytes: rssMiB * MiB },
  ];

  it("samples nothing here, and writes a check at each sample that carries the agent's listing", async () => {
    const dir = tempDir();
    const perfDir = path.join(dir, 'logs', 'perf', '1');
    const m = monitorFor(dir, { perfDir, intervalS: 1, remote: true });
    const seen: ProcessSample[][] = [];
    m.onSample((_, processes) => seen.push(processes));
    m.start();
    m.ingest(sample(Date.UTC(2026, 0, 1, 10, 0, 0)), worker(100), 'AGENT LISTING 1');
    m.ingest(sample(Date.UTC(2026, 0, 1, 10, 0, 30)), worker(300));
    // A minute later: its listing has a file of its own (os/<hour>/processes_<minute>).
    m.ingest(sample(Date.UTC(2026, 0, 1, 10, 1, 0)), worker(200), 'AGENT LISTING 2');
    // Longer than its sample period: it would have sampled the leader by now if it sampled here.
    await delay(600);
    await m.stop();
    expect(seen).toEqual([worker(100), worker(300), worker(200)]);
    const lines = (file: string) => readFileSync(path.join(perfDir, file), 'utf8').trimEnd().split('\n');
    // GPU columns are the agent's GPUs, as its samples name them.
    const nodeRows = lines(NODE_CSV);
    expect(nodeRows[0]).toBe(nodeCsvHeader([1]));
    expect(nodeRows).toHaveLength(3);
    expect(nodeRows[1]).toMatch(/,12\.5,3221225472,8589934592,37\.5,90,2147483648,17179869184$/);
    // Only the agent's worker, by its pid there; the peak since the check before (300 MiB) is kept.
    const procRows = lines(PROCESSES_CSV).slice(1);
    expect(procRows.map((r) => r.split(',').slice(1))).toEqual([
      ['process003', '4242', '50.0', '50.0', String(100 * MiB), String(100 * MiB)],
      ['process003', '4242', '50.0', '50.0', String(200 * MiB), String(300 * MiB)],
    ]);
    expect(lines(DISK_CSV)).toHaveLength(3);
    const listings = readdirSync(path.join(perfDir, 'os'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => readFileSync(path.join(e.parentPath, e.name), 'utf8'));
    expect(listings.sort()).toEqual(['AGENT LISTING 1', 'AGENT LISTING 2']);
    // The OOM report reads its samples and the agent machine's memory.
    expect(m.lastSamples('process003').map((p) => p.rssBytes)).toEqual([100, 300, 200].map((x) => x * MiB));
    expect(m.lastNode()?.memTotalBytes).toBe(8 * GiB);
  });
});

describe.runIf(linux)('GPU sampling through nvidia-smi', () => {
  it('samples the GPUs in use, one nvidia-smi call per sample', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'calls.txt');
    const env = {
      ...process.env,
      PATH: `${fakeDir}${path.delimiter}${process.env.PATH ?? ''}`,
      FAKE_NVIDIA_SMI_GPUS: '2',
      FAKE_NVIDIA_SMI_UTIL: '35,80',
      FAKE_NVIDIA_SMI_MEM_USED: '1024,4096',
      FAKE_NVIDIA_SMI_LOG: log,
    };
    const m = monitorFor(dir, { gpus: [1], env, intervalS: 1, sampleMs: 300 });
    m.start();
    const { node } = await sampleWhere(m, (n) => n.gpus.length > 0);
    expect(node.gpus).toEqual([
      { index: 1, utilPercent: 80, memUsedBytes: 4096 * MiB, memTotalBytes: 81559 * MiB },
    ]);
    await delay(400);
    await m.stop();
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls[0]).toBe(
      '--query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits',
    );
    expect(calls.length).toBeLessThanOrEqual(m.history().node.length + 1);
    const csv = readFileSync(path.join(dir, 'logs', 'perf', 'node000', NODE_CSV), 'utf8').split('\n');
    expect(csv[0]).toBe(
      'time,cpu_percent,memory_used_bytes,memory_total_bytes,memory_percent,gpu1_util_percent,gpu1_memory_used_bytes,gpu1_memory_total_bytes',
    );
    expect(csv.slice(1).some((r) => r.endsWith(`,80,${4096 * MiB},${81559 * MiB}`))).toBe(true);
  });

  it('does not call nvidia-smi without GPUs in use', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'calls.txt');
    const env = {
      ...process.env,
      PATH: `${fakeDir}${path.delimiter}${process.env.PATH ?? ''}`,
      FAKE_NVIDIA_SMI_GPUS: '2',
      FAKE_NVIDIA_SMI_LOG: log,
    };
    const m = monitorFor(dir, { gpus: [], env });
    m.start();
    await sampleWhere(m, () => true);
    await m.stop();
    expect(existsSync(log)).toBe(false);
  });
});
