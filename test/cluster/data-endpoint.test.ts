// The leader's data endpoint (src/engine/cluster/dataEndpoint.ts), a real HTTP server: it answers
// only a client with the run's token, and serves only the files the run declared, whatever path
// tricks a request tries. Then a real cluster run whose agent cannot see the job's folder at all
// (a private mount namespace puts an empty tmpfs over it; root only, the test says why it skips):
// the agent fetches the code, the side input and each mini-batch's inputs from the endpoint, the
// job completes exactly once, and the code bundle is fetched once for the agent's two workers.

import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataCache } from '../../src/engine/cluster/dataCache';
import { DataEndpoint } from '../../src/engine/cluster/dataEndpoint';
import { bundleOf } from '../../src/engine/cluster/manifest';
import type { JobSpec } from '../../src/common/spec';
import { DEBIAN_PYTHON, prs, tempDir, writeFiles } from '../helpers';
import { freePort } from '../../src/engine/cluster/localRedis';
import { writeParquet } from '../partition/parquetWriter';
import { type AgentProc, cannotUnshare, clusterJob, readOutput, useCluster, waitFor } from './kit';

function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    // Raw paths: Node's URL parser would fold the dots a hostile client sends as they are.
    const u = new URL(url.replace(/^(http:\/\/[^/]+).*$/, '$1'));
    const req = http.request(
      { host: u.hostname, port: u.port, path: url.slice(u.origin.length), headers, method: 'GET' },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('the data endpoint', () => {
  let endpoint: DataEndpoint | undefined;
  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
  });

  async function serve() {
    const dir = tempDir('prs-endpoint-');
    writeFiles(dir, {
      'src/score.mjs': 'export function run(b) { return b; }\n',
      'src/lib/util.mjs': 'export const x = 1;\n',
      'secret.txt': 'not declared\n',
      'data/a.txt': 'a line\nanother line\n',
    });
    // A link inside the declared folder that points out of it must not make its target servable.
    symlinkSync(path.join(dir, 'secret.txt'), path.join(dir, 'src', 'escape.txt'));
    const spec = {
      source_directory: path.join(dir, 'src'),
      entry_script: path.join(dir, 'src', 'score.mjs'),
      models: {},
      side_inputs: [],
    } as unknown as JobSpec;
    const bundle = await bundleOf(spec);
    const lines: string[] = [];
    endpoint = new DataEndpoint({ host: '127.0.0.1', log: (l) => lines.push(l) });
    endpoint.declareBundle(bundle);
    const url = await endpoint.start();
    const auth = { Authorization: `Bearer ${endpoint.token}` };
    return { dir, url, auth, lines, bundle, endpoint };
  }

  it('refuses a request without the run token, or with a wrong one (401)', async () => {
    const { url, endpoint: e, lines } = await serve();
    const blob = `${url}/blob/${sha('export function run(b) { return b; }\n')}`;
    expect((await get(blob)).status).toBe(401);
    expect((await get(blob, { Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await get(blob, { Authorization: `Bearer ${e.token}x` })).status).toBe(401);
    expect((await get(blob, { Authorization: e.token })).status).toBe(401);
    const ok = await get(blob, { Authorization: `Bearer ${e.token}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('export function run(b) { return b; }\n');
    // Its log lines never hold the token.
    expect(lines.length).toBe(5);
    expect(lines.join('\n')).not.toContain(e.token);
  });

  it('serves only declared files: traversal, absolute paths, encoded dots and links out are refused', async () => {
    const { dir, url, auth, bundle } = await serve();
    expect(bundle.roots[0]!.files.map((f) => f.rel)).toEqual(['lib/util.mjs', 'score.mjs']);
    const secret = sha('not declared\n');
    const attempts = [
      `/blob/${secret}`,
      '/blob/../secret.txt',
      '/blob/..%2Fsecret.txt',
      '/blob/%2e%2e/%2e%2e/etc/passwd',
      '/../../../etc/passwd',
      '//etc/passwd',
      `/${path.join(dir, 'secret.txt')}`,
      `${path.join(dir, 'secret.txt')}`,
      '/input/../../secret.txt',
      `/input/${'0'.repeat(32)}`,
      '/src/score.mjs',
      '/blob/' + sha('export const x = 1;\n') + '/../../secret.txt',
      '/blob/' + sha('export const x = 1;\n') + '?x=1',
      '/blob\\..\\secret.txt',
    ];
    for (const a of attempts) {
      const r = await get(url + a, auth);
      expect([400, 404], `${a}: ${r.status} ${r.body}`).toContain(r.status);
      expect(r.body).not.toContain('not declared');
    }
    // Neither GET nor PUT, and a malformed request line: answered, and the endpoint still serves.
    expect((await send(`${url}/blob/${secret}`, 'DELETE', auth)).status).toBe(405);
    const net = await import('node:net');
    const raw = await new Promise<string>((resolve) => {
      const s = net.connect(Number(new URL(url).port), '127.0.0.1', () => s.write('GARBAGE\r\n\r\n'));
      let text = '';
      s.on('data', (d) => (text += d));
      s.on('close', () => resolve(text));
      s.on('error', () => resolve(text));
    });
    expect(raw).toMatch(/^HTTP\/1.1 400/);
    const util = await get(`${url}/blob/${sha('export const x = 1;\n')}`, auth);
    expect(util.status).toBe(200);
  });

  it("takes back only the run folder's worker files, and only inside the run folder", async () => {
    const { dir, url, auth } = await serve();
    const runDir = path.join(dir, 'run');
    const put = (rel: string, body: string, headers: Record<string, string> = {}) =>
      send(`${url}/run/${Buffer.from(rel).toString('base64url')}`, 'PUT', { ...auth, ...headers }, body);
    // Not before the run folder is known: the agent sends it again.
    expect((await put('outputs/a.txt', 'x', { 'X-PRS-Offset': '0', 'X-PRS-Whole': '1' })).status).toBe(503);
    endpoint!.setRunDir(runDir);
    mkdirSync(path.join(runDir, 'outputs'), { recursive: true });
    // A link in the run folder that leads out of it.
    symlinkSync(dir, path.join(runDir, 'outputs', 'out'));
    for (const rel of [
      '../secret.txt',
      'outputs/../../secret.txt',
      '/etc/passwd',
      'run.json',
      'journal.sqlite',
      'logs/sys/job_result.txt',
      'logs/user/x',
      'outputs/out/secret.txt',
      'outputs/out/made/here.txt',
      'outputs/',
    ]) {
      const r = await put(rel, 'overwritten', { 'X-PRS-Offset': '0', 'X-PRS-Whole': '1' });
      expect(r.status, `${rel}: ${r.body}`).toBe(400);
    }
    expect(readFileSync(path.join(dir, 'secret.txt'), 'utf8')).toBe('not declared\n');
    expect(existsSync(path.join(dir, 'made'))).toBe(false);
    expect(
      (await send(`${url}/run/${Buffer.from('outputs/a.txt').toString('base64url')}`, 'PUT', {}, 'x')).status,
    ).toBe(401);
    expect((await put('outputs/a.txt', 'whole', { 'X-PRS-Offset': '0', 'X-PRS-Whole': '1' })).status).toBe(
      204,
    );
    const log = 'logs/user/entry_script_log/0/process000.log.txt';
    expect((await put(log, 'one\n', { 'X-PRS-Offset': '0' })).status).toBe(204);
    expect((await put(log, 'two\n', { 'X-PRS-Offset': '4' })).status).toBe(204);
    expect((await put(log, 'gap\n', { 'X-PRS-Offset': '99' })).status).toBe(409);
    expect((await put(log, 'bad', { 'X-PRS-Offset': '-1' })).status).toBe(400);
    expect(readFileSync(path.join(runDir, 'outputs', 'a.txt'), 'utf8')).toBe('whole');
    expect(readFileSync(path.join(runDir, ...log.split('/')), 'utf8')).toBe('one\ntwo\n');
  });

  it('serves a declared input by its id, and the byte range a mini-batch asks for (206)', async () => {
    const { dir, url, auth, endpoint: e } = await serve();
    const file = path.join(dir, 'data', 'a.txt');
    const stamp = e.declareInput(file)!;
    expect(stamp.size).toBe(20);
    expect((await get(`${url}/input/${stamp.id}`, auth)).body).toBe('a line\nanother line\n');
    const part = await get(`${url}/input/${stamp.id}`, { ...auth, Range: 'bytes=7-19' });
    expect(part.status).toBe(206);
    expect(part.body).toBe('another line\n');
    expect(part.headers['content-range']).toBe('bytes 7-19/20');
    for (const range of ['bytes=10-40', 'bytes=15-3', 'lines=1-2', 'bytes=0-1,4-5'])
      expect((await get(`${url}/input/${stamp.id}`, { ...auth, Range: range })).status, range).toBe(416);
    // Undeclared inputs stay unservable, even next to a declared one.
    expect(e.declareInput(path.join(dir, 'nothing.txt'))).toBeNull();
  });
});

describe("an agent's cache", () => {
  let endpoint: DataEndpoint | undefined;
  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
  });

  it('says which file it could not fetch and why: a wrong token, a changed file, other bytes', async () => {
    const dir = tempDir('prs-cache-');
    writeFiles(dir, { 'src/score.mjs': 'export function run(b) { return b; }\n' });
    const entry = path.join(dir, 'src', 'score.mjs');
    // A whole second, which utimes can set back exactly.
    const when = new Date('2026-01-01T00:00:00Z');
    utimesSync(entry, when, when);
    const spec = {
      source_directory: path.join(dir, 'src'),
      entry_script: entry,
      models: {},
      side_inputs: [],
    } as unknown as JobSpec;
    const bundle = await bundleOf(spec);
    endpoint = new DataEndpoint({ host: '127.0.0.1' });
    endpoint.declareBundle(bundle);
    const url = await endpoint.start();
    // What the agent compares with: as if its copy of the folder were elsewhere.
    const moved = { roots: bundle.roots.map((r) => ({ ...r, path: path.join(dir, 'not-here') })) };
    const cache = (name: string) => new DataCache(tempDir(`prs-cache-${name}-`), 'unit');
    await expect(cache('a').rebaseFor({ url, token: 'wrong', bundle: moved })).rejects.toThrow(
      /could not fetch .*not-here\/score\.mjs from the leader's data endpoint http:\/\/127\.0\.0\.1:\d+: HTTP 401/,
    );
    // The right token: a copy under the work folder, named as on the leader.
    const ok = await cache('b').rebaseFor({ url, token: endpoint.token, bundle: moved });
    expect(ok).toHaveLength(1);
    expect(readFileSync(path.join(ok[0]![1], 'score.mjs'), 'utf8')).toBe(
      'export function run(b) { return b; }\n',
    );
    // Other bytes of the same size and mtime on the leader: served, but refused on arrival.
    writeFileSync(entry, 'export function run(b) { return 0; }\n');
    utimesSync(entry, when, when);
    await expect(cache('c').rebaseFor({ url, token: endpoint.token, bundle: moved })).rejects.toThrow(
      /score\.mjs fetched from the leader's data endpoint is not the declared file/,
    );
    // Changed on the leader since the run started: 409, named.
    writeFileSync(entry, 'export function run(b) { return []; }\n');
    await expect(cache('d').rebaseFor({ url, token: endpoint.token, bundle: moved })).rejects.toThrow(
      /HTTP 409: 409: the file changed on the leader since the run started/,
    );
  });
});

describe('--data-bind', () => {
  const cluster = useCluster();

  it('goes with --cluster, and must be HOST[:PORT] (exit 2 before anything waits)', async () => {
    const job = clusterJob({ files: 1, delayMs: 0, nodeCount: 1 });
    const alone = await prs(['run', job.spec, '--data-bind', '127.0.0.1', '--json']);
    expect(alone.code).toBe(2);
    expect(alone.json!.reason).toContain('--data-bind goes with --cluster');
    const bad = await prs([
      'run',
      job.spec,
      '--cluster',
      'redis://127.0.0.1:1',
      '--data-bind',
      'a host:1',
      '--json',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.json!.reason).toContain('--data-bind: "a host:1" is not HOST[:PORT]');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('listens where it is told, and says so', async () => {
    const redis = await cluster.redis();
    await cluster.agent(redis.url, 'seeing', 1);
    const port = await freePort();
    const job = clusterJob({ files: 2, delayMs: 0, nodeCount: 1 });
    const r = await prs([
      'run',
      job.spec,
      '--cluster',
      redis.url,
      '--data-bind',
      `127.0.0.1:${port}`,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Data endpoint for agents without the job's files: http://127.0.0.1:${port} `);
    const masterRole = readFileSync(
      path.join(r.json!.run_dir as string, 'logs', 'sys', 'master_role.txt'),
      'utf8',
    );
    expect(masterRole).toContain(
      `INFO Data endpoint for agents without the job's files: http://127.0.0.1:${port} `,
    );
    // This agent holds the job's files: it fetched nothing.
    const log = path.join(r.json!.run_dir as string, 'logs', 'sys', 'data_endpoint.txt');
    expect(existsSync(log) ? readFileSync(log, 'utf8') : '').toBe('');
  });
});

const why = cannotUnshare();
if (why) console.warn(`test/cluster/data-endpoint.test.ts (agent without the job's folder) skipped: ${why}`);

describe.skipIf(why !== null)('an agent that cannot see the job folder', () => {
  const cluster = useCluster();

  /** An agent whose view of `hidden` is an empty tmpfs: no inputs, no code, no side input there. */
  function hiddenAgent(url: string, hidden: string, workDir: string): Promise<AgentProc> {
    return cluster.agent(url, 'blind', 2, {
      mount: ['-t', 'tmpfs', 'tmpfs', hidden],
      args: ['--work-dir', workDir],
    });
  }

  it('completes the job exactly once from the endpoint, fetching the code once per agent (two workers, a second run)', async () => {
    const redis = await cluster.redis();
    const dir = tempDir('prs-hidden-job-');
    const files = 6;
    const inputs: Record<string, string> = {};
    for (let i = 0; i < files; i++) inputs[`data/f${String(i).padStart(4, '0')}.txt`] = `item ${i}\n`;
    const script = `
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tag } from './lib/tag.mjs';
const side = readFileSync(process.env.PRS_SIDE_INPUT_LOOKUP, 'utf8').trim();
export function run(batch, ctx) {
  for (const f of batch) {
    ctx.logger.info('scored ' + path.basename(f));
    writeFileSync(path.join(ctx.outputDir, 'side-' + path.basename(f)), 'written on ' + process.env.PRS_AGENT_NAME + '\\n');
  }
  return batch.map((f) => [path.basename(f), readFileSync(f, 'utf8').trim().replace(' ', '_'), tag, side, process.env.PRS_AGENT_NAME].join(' '));
}
`;
    writeFiles(dir, {
      ...inputs,
      'src/score.mjs': script,
      'src/lib/tag.mjs': `export const tag = 'helper-ok';\n`,
      'side/lookup.txt': 'side-ok\n',
    });
    const spec = path.join(dir, 'job.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'hidden-job',
        entry_script: 'score.mjs',
        source_directory: './src',
        inputs: [{ path: './data', type: 'files' }],
        side_inputs: [{ name: 'lookup', path: './side/lookup.txt' }],
        mini_batch_size: 2,
        node_count: 1,
        process_count_per_node: 2,
        run_invocation_timeout: 60,
      }),
    );
    const workDir = tempDir('prs-agent-work-');
    const agent = await hiddenAgent(redis.url, dir, workDir);

    const r = await prs(['run', spec, '--cluster', redis.url, '--json']);
    expect(r.code, r.stderr + agent.log()).toBe(0);
    expect(r.stderr).toMatch(/Data endpoint for agents without the job's files: http:\/\/127\.0\.0\.1:\d+/);
    const out = readOutput(r.json!.output_file as string);
    expect(out.duplicates).toEqual([]);
    const lines = readFileSync(r.json!.output_file as string, 'utf8')
      .trim()
      .split('\n')
      .sort();
    expect(lines).toEqual(
      Object.keys(inputs).map((f, i) => `${path.basename(f)} item_${i} helper-ok side-ok blind`),
    );
    expect(agent.log()).toMatch(/is not the leader's here; using the leader's copy/);

    // The leader's log of the endpoint: each code file once for the agent, each input once.
    const runDir = r.json!.run_dir as string;
    const log = readFileSync(path.join(runDir, 'logs', 'sys', 'data_endpoint.txt'), 'utf8');
    const served = (route: string) => log.split('\n').filter((l) => l.includes(` GET ${route} 200 `)).length;
    expect(served(`/blob/${sha(script)}`), log).toBe(1);
    expect(served(`/blob/${sha(`export const tag = 'helper-ok';\n`)}`), log).toBe(1);
    expect(served(`/blob/${sha('side-ok\n')}`), log).toBe(1);
    expect(log.split('\n').filter((l) => / GET \/input\/[0-9a-f]{32} 200 /.test(l)).length, log).toBe(files);
    expect(log).toMatch(/agent=blind/);
    // The copies live in the agent's work folder, by content; the mini-batches' inputs are gone.
    expect(readdirSync(path.join(workDir, 'blobs')).sort()).toEqual(
      [sha(script), sha(`export const tag = 'helper-ok';\n`), sha('side-ok\n')].sort(),
    );
    // What the workers wrote into the run folder they could not see reached the leader's.
    expect(agent.log()).toMatch(/the run folder .* is not here; its workers write into/);
    const logDir = path.join(runDir, 'logs', 'user', 'entry_script_log', '0');
    const logged = readdirSync(logDir)
      .map((f) => readFileSync(path.join(logDir, f), 'utf8'))
      .join('');
    expect(logged.match(/scored f\d{4}\.txt/g)?.sort()).toEqual(
      Object.keys(inputs).map((f) => `scored ${path.basename(f)}`),
    );
    for (const f of Object.keys(inputs))
      expect(readFileSync(path.join(runDir, 'outputs', `side-${path.basename(f)}`), 'utf8')).toBe(
        'written on blind\n',
      );
    await waitFor(
      'the fetched inputs to be removed',
      () =>
        !existsSync(path.join(workDir, 'batches')) || readdirSync(path.join(workDir, 'batches')).length === 0
          ? true
          : undefined,
      30_000,
    );

    // Another run of the same job: the agent's cache already has the code; only inputs travel.
    const again = await prs(['run', spec, '--cluster', redis.url, '--json', '--no-reuse']);
    expect(again.code, again.stderr + agent.log()).toBe(0);
    const log2 = readFileSync(
      path.join(again.json!.run_dir as string, 'logs', 'sys', 'data_endpoint.txt'),
      'utf8',
    );
    expect(log2).not.toMatch(/ GET \/blob\//);
    expect(log2.split('\n').filter((l) => / GET \/input\/[0-9a-f]{32} 200 /.test(l)).length, log2).toBe(
      files,
    );
  });
  it("runs a Python job on a table's byte ranges, with its model fetched and its metrics in run.json", async () => {
    const redis = await cluster.redis();
    const dir = tempDir('prs-hidden-py-');
    const rows = Array.from({ length: 40 }, (_, i) => `city${String(i).padStart(2, '0')},${i}`);
    writeFiles(dir, {
      'data/cities.csv': ['city,n', ...rows].join('\n') + '\n',
      'model/weights.txt': '3\n',
      'src/score.py': [
        'import os',
        'from azureml.core import Model, Run',
        'def init():',
        '    global weight, beside',
        '    weight = int(open(Model.get_model_path("weights")).read())',
        '    beside = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "weights.txt")).read().strip()',
        'def run(df):',
        '    Run.get_context().log("rows", len(df))',
        '    return [f"{r.city} {r.n * weight} {beside} {os.environ[\'PRS_AGENT_NAME\']}" for r in df.itertuples()]',
        '',
      ].join('\n'),
    });
    const spec = path.join(dir, 'job.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'hidden-py',
        entry_script: 'score.py',
        source_directory: './src',
        python: DEBIAN_PYTHON,
        inputs: [{ path: './data/cities.csv', type: 'tabular' }],
        models: { weights: './model/weights.txt' },
        mini_batch_size: '100',
        node_count: 1,
        process_count_per_node: 2,
        run_invocation_timeout: 60,
      }),
    );
    const agent = await hiddenAgent(redis.url, dir, tempDir('prs-agent-work-'));
    const r = await prs(['run', spec, '--cluster', redis.url, '--json']);
    expect(r.code, r.stderr + agent.log()).toBe(0);
    const lines = readFileSync(r.json!.output_file as string, 'utf8')
      .trim()
      .split('\n')
      .sort();
    expect(lines).toEqual(rows.map((row, i) => `${row.split(',')[0]} ${i * 3} 3 blind`));
    const batches = r.json!.mini_batches as { total: number };
    expect(batches.total).toBeGreaterThan(3);
    // Each mini-batch fetched just its ranges of the table: one ranged request (206) per mini-batch.
    const log = readFileSync(
      path.join(r.json!.run_dir as string, 'logs', 'sys', 'data_endpoint.txt'),
      'utf8',
    );
    expect(log.split('\n').filter((l) => / GET \/input\/[0-9a-f]{32} 206 /.test(l)).length, log).toBe(
      batches.total,
    );
    expect(log).not.toMatch(/ GET \/input\/[0-9a-f]{32} 200 /);
    // Run.log() wrote the metrics file in the agent's stand-in; the leader gathered it.
    const record = JSON.parse(readFileSync(path.join(r.json!.run_dir as string, 'run.json'), 'utf8')) as {
      summary: { logged_metrics: { metrics: { rows: number[] } } };
    };
    expect(record.summary.logged_metrics.metrics.rows.reduce((a, b) => a + b, 0)).toBe(40);
  });
  it('reads a Parquet input from one whole copy per agent, whatever the mini-batches', async () => {
    const redis = await cluster.redis();
    const dir = tempDir('prs-hidden-parquet-');
    writeFiles(dir, {
      'src/score.mjs': `export function run(table) { return table.rows.map((r) => r.join(' ') + ' ' + process.env.PRS_AGENT_NAME); }\n`,
    });
    mkdirSync(path.join(dir, 'data'));
    const groups = Array.from({ length: 4 }, (_, g) =>
      Array.from({ length: 5 }, (_, i) => [g * 5 + i, `row${g * 5 + i}`]),
    );
    writeParquet(
      path.join(dir, 'data', 'rows.parquet'),
      [
        { name: 'n', type: 'int32' },
        { name: 's', type: 'string' },
      ],
      groups,
    );
    const spec = path.join(dir, 'job.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'hidden-parquet',
        entry_script: 'score.mjs',
        source_directory: './src',
        inputs: [{ path: './data/rows.parquet', type: 'tabular' }],
        mini_batch_size: '1',
        node_count: 1,
        process_count_per_node: 2,
        run_invocation_timeout: 60,
      }),
    );
    const agent = await hiddenAgent(redis.url, dir, tempDir('prs-agent-work-'));
    const r = await prs(['run', spec, '--cluster', redis.url, '--json']);
    expect(r.code, r.stderr + agent.log()).toBe(0);
    const lines = readFileSync(r.json!.output_file as string, 'utf8')
      .trim()
      .split('\n');
    expect(lines.sort()).toEqual(
      groups
        .flat()
        .map(([n, s]) => `${n} ${s} blind`)
        .sort(),
    );
    expect((r.json!.mini_batches as { total: number }).total).toBe(4);
    const log = readFileSync(
      path.join(r.json!.run_dir as string, 'logs', 'sys', 'data_endpoint.txt'),
      'utf8',
    );
    expect(
      log.split('\n').filter((l) => / GET \/input\//.test(l)),
      log,
    ).toHaveLength(1);
  });
});
