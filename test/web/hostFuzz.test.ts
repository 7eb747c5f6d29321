// The local web host must survive anything one connection sends. A real `prs serve` runs a real job
// whose mini-batches wait for a release file, so the run is live throughout; a real WebSocket client
// then sends every API method wrong, missing and hostile parameters, unreadable frames, oversized and
// invalid-UTF-8 frames, and raw HTTP request targets that `new URL` or decodeURIComponent refuse.
// Each is answered; the host stays up; once released, the run completes with every result.

import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { API_PARAMS, type AppEvent } from '../../src/common/contract';
import { tempDir, writeFiles } from '../helpers';
import { connect, startServe, type Client, type Serve } from './serve';

const ITEMS = 4;

function holdJob(dir: string, release: string): string {
  const files: Record<string, string> = {
    'score.mjs': `import { existsSync } from 'node:fs';
import path from 'node:path';
export async function run(batch) {
  while (!existsSync(${JSON.stringify(release)})) await new Promise((r) => setTimeout(r, 50));
  return batch.map((f) => path.basename(f) + ' ok');
}
`,
  };
  for (let i = 0; i < ITEMS; i++) files[`data/f${i}.txt`] = `item ${i}\n`;
  writeFiles(dir, files);
  const spec = {
    name: 'hold-job',
    entry_script: 'score.mjs',
    inputs: [{ path: './data' }],
    mini_batch_size: 1,
    process_count_per_node: 1,
    run_invocation_timeout: 600,
    run_max_try: 1,
  };
  writeFileSync(path.join(dir, 'job.json'), JSON.stringify(spec));
  return path.join(dir, 'job.json');
}

/** A raw HTTP/1.1 request, so targets no HTTP client would send (`//[`) reach the server as written. */
function rawHttp(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

/** Wrong, missing and hostile params for a method: none may reach its handler as they are. */
function badParams(method: keyof typeof API_PARAMS): unknown[] {
  const shape = (API_PARAMS[method] as unknown as { shape?: Record<string, unknown> }).shape ?? {};
  const keys = Object.keys(shape);
  const every = (v: unknown) => Object.fromEntries(keys.map((k) => [k, v]));
  return [
    null,
    [],
    7,
    'text',
    true,
    every({}),
    every(null),
    every([]),
    every(-1),
    every(1.5),
    every('\0'),
    every({ toString: 'x', valueOf: 'y' }),
    JSON.parse('{"__proto__": {"runDir": "/", "path": "/", "specPath": "/"}}'),
  ];
}

let serve: Serve;
let client: Client;
let root: string;
let release: string;
let runId: string;
let runDir: string;

beforeAll(async () => {
  root = tempDir('prs-fuzz-');
  const examples = path.join(root, 'examples');
  release = path.join(root, 'release');
  const specPath = holdJob(path.join(examples, 'hold'), release);
  serve = await startServe([], { PRS_EXAMPLES_DIR: examples, PRS_DATA_DIR: root });
  client = await connect(serve);
  const started = await client.request('startRun', { specPath });
  expect(started.ok, JSON.stringify(started)).toBe(true);
  ({ runId, runDir } = (started as { result: { runId: string; runDir: string } }).result);
  const open = await client.request('openRun', { runId });
  expect(open.ok).toBe(true);
});

afterAll(async () => {
  if (release && !existsSync(release)) writeFileSync(release, '');
  await serve?.stop();
});

function hostIsUp() {
  expect(serve.child.exitCode).toBeNull();
  expect(serve.child.signalCode).toBeNull();
}

describe('a live host, sent every kind of bad request', () => {
  it('refuses the raw HTTP targets that used to crash it, with 400', async () => {
    expect(statusOf(await rawHttp(serve.port, '//['))).toBe(400);
    expect(statusOf(await rawHttp(serve.port, 'http://['))).toBe(400);
    expect(statusOf(await rawHttp(serve.port, '/%E0%A4%A'))).toBe(400);
    expect(statusOf(await rawHttp(serve.port, '/ws/%E0%A4%A'))).toBe(400);
    hostIsUp();
  });

  it('answers the cases of the issue by name: readLog {}, inspectScript {}, checkInterpreter {}, validateDraft {}', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['readLog', {}, /^readLog: .*runDir/],
      ['inspectScript', {}, /^inspectScript: path/],
      ['checkInterpreter', {}, /^checkInterpreter: python/],
      ['validateDraft', {}, /^validateDraft: spec/],
      ['readLog', { runDir: runDir, path: 'logs/job_progress_overview.txt', start: 'x' }, /^readLog: start/],
    ];
    for (const [method, params, message] of cases) {
      const r = await client.request(method, params);
      expect(r.ok, method).toBe(false);
      if (!r.ok) {
        expect(r.error.name).toBe('BadRequest');
        expect(r.error.message).toMatch(message);
      }
    }
    hostIsUp();
  });

  it('refuses method names from Object.prototype and unknown ones, by name', async () => {
    for (const method of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'nope', '']) {
      const r = await client.request(method, {});
      expect(r.ok, method).toBe(false);
      if (!r.ok) expect(r.error.message).toContain(`unknown request ${JSON.stringify(method)}`);
    }
    hostIsUp();
  });

  it('answers every API method given wrong, missing and hostile params with a BadRequest naming it', async () => {
    const methods = Object.keys(API_PARAMS) as Array<keyof typeof API_PARAMS>;
    expect(methods.length).toBeGreaterThan(30);
    for (const method of methods) {
      for (const params of badParams(method)) {
        const r = await client.request(method, params);
        if (API_PARAMS[method].safeParse(params).success) continue; // e.g. {} for listRuns: a fine request
        expect(r.ok, `${method} ${JSON.stringify(params)}`).toBe(false);
        if (!r.ok) {
          expect(r.error.name).toBe('BadRequest');
          expect(r.error.message.startsWith(`${method}: `)).toBe(true);
        }
      }
      // Missing params altogether: an empty object, refused unless the method takes none.
      const missing = await client.raw(JSON.stringify({ kind: 'req', id: 100_000, method }), 100_000);
      if (!API_PARAMS[method].safeParse({}).success) expect(missing.ok, method).toBe(false);
    }
    // A number JSON cannot hold (1e400 parses as Infinity) is not a number the contract accepts.
    const inf = await client.raw(
      `{"kind":"req","id":200000,"method":"readLog","params":{"runDir":"/x","path":"y","start":1e400}}`,
      200_000,
    );
    expect(inf.ok).toBe(false);
    hostIsUp();
  });

  it('answers unreadable frames, including null and ack null, and keeps the connection', async () => {
    for (const text of [
      'null',
      'not json',
      '[]',
      '"req"',
      '42',
      '{}',
      '{"kind":"req"}',
      '{"kind":"ack","ack":null}',
    ]) {
      const r = await client.raw(text, null);
      expect(r.ok, text).toBe(false);
      if (!r.ok) {
        expect(r.error.name).toBe('BadRequest');
        expect(r.error.message).toMatch(/^(bad frame: |frame is not JSON)/);
      }
    }
    // A frame with an id but no method is answered under that id.
    const withId = await client.raw('{"kind":"req","id":300000,"method":{"x":1}}', 300_000);
    expect(withId.ok).toBe(false);
    // Binary frames are not part of the protocol.
    const binary = await client.raw(Buffer.from('{"kind":"ack"}'), null, true);
    expect(binary.ok).toBe(false);
    // Still this connection, still answering.
    expect((await client.request('listRuns', {})).ok).toBe(true);
    hostIsUp();
  });

  it('closes only the connection that sends invalid UTF-8 or a frame over the size limit', async () => {
    const utf8 = await connect(serve);
    utf8.ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
    expect((await utf8.closed).code).toBe(1007);

    const big = await connect(serve);
    big.ws.send('x'.repeat(8 * 1024 * 1024 + 1));
    expect((await big.closed).code).toBe(1009);

    expect((await client.request('listRuns', {})).ok).toBe(true);
    hostIsUp();
  });

  it('refuses a handshake without the token, with a wrong one, or from a foreign origin, and stays up', async () => {
    const attempt = (protocols: string[], headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${serve.port}/ws`, protocols, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', () => undefined);
      });
    expect(await attempt([])).toBe(401);
    expect(await attempt(['prs', 'prs-token.wrong'])).toBe(401);
    expect(await attempt(['prs', `prs-token.${serve.token}`], { Origin: 'http://127.0.0.1:1' })).toBe(403);
    expect(await attempt(['prs', `prs-token.${serve.token}`])).toBe(101);
    hostIsUp();
  });

  it('after all that, the live run completes with every result', async () => {
    const live = await client.request('listRuns', {});
    expect(live.ok).toBe(true);
    writeFileSync(release, '');
    const finished = await client.waitForEvent(
      (e: AppEvent) =>
        e.type === 'run-events' && e.runId === runId && e.events.some((x) => x.type === 'finished'),
    );
    expect(JSON.stringify(finished)).toContain('"completed"');
    const lines = readFileSync(path.join(runDir, 'outputs', 'parallel_run_step.txt'), 'utf8')
      .trim()
      .split('\n');
    expect(lines.sort()).toEqual([0, 1, 2, 3].map((i) => `f${i}.txt ok`));
    hostIsUp();
  });

  it('exports a run folder whose path is not Latin-1, naming the file by RFC 6266', async () => {
    const odd = path.join(root, 'jobs-日本語', 'hold-job-ü', path.basename(runDir));
    mkdirSync(path.dirname(odd), { recursive: true });
    cpSync(runDir, odd, { recursive: true });
    const ticket = await client.request('exportTicket', { runDir: odd, what: 'output-csv' });
    expect(ticket.ok, JSON.stringify(ticket)).toBe(true);
    const { url } = (ticket as { result: { url: string } }).result;
    const res = await fetch(`http://127.0.0.1:${serve.port}${url}`);
    expect(res.status).toBe(200);
    const disposition = res.headers.get('content-disposition') ?? '';
    expect(disposition).toContain(`filename*=UTF-8''hold-job-%C3%BC-`);
    expect(disposition).toMatch(/filename="hold-job-_-[^"]*-output\.csv"/);
    expect((await res.text()).trim().split('\n')).toHaveLength(ITEMS + 1);
    // A ticket works once.
    expect((await fetch(`http://127.0.0.1:${serve.port}${url}`)).status).toBe(401);
    // The script route: the token as a bearer header, never in a cookie or the URL.
    const bearer = await fetch(
      `http://127.0.0.1:${serve.port}/export?${new URLSearchParams({ runDir: odd, what: 'run-zip' })}`,
      { headers: { Authorization: `Bearer ${serve.token}` } },
    );
    expect(bearer.status).toBe(200);
    await bearer.arrayBuffer();
    hostIsUp();
  });

  it('refuses with 404, before any byte, a download of a folder that is not a run folder', async () => {
    // run.json there, but not a run's (no spec): the check of writeExport, made before the headers.
    const fake = path.join(root, 'not-a-run');
    writeFiles(fake, { 'run.json': '{"hello": 1}', 'outputs/parallel_run_step.txt': 'secret\n' });
    for (const runDir of [fake, path.join(root, 'nowhere')]) {
      const res = await fetch(
        `http://127.0.0.1:${serve.port}/export?${new URLSearchParams({ runDir, what: 'output-csv' })}`,
        { headers: { Authorization: `Bearer ${serve.token}` } },
      );
      expect(res.status, runDir).toBe(404);
      expect(await res.text()).toMatch(/not a run folder/);
    }
    hostIsUp();
  });
});
