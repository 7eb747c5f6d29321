// The web host runs code, so it must refuse everything that is not the page it printed the URL for.

import { expect, test } from '@playwright/test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startHost, startServe, writeExample, type Host } from './host';

let host: Host;
test.beforeAll(async () => {
  host = await startHost(() => undefined);
});
test.afterAll(async () => {
  await host?.stop();
});

function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: host.port, path, headers }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}

function upgrade(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; protocol: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: host.port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, protocol: res.headers['sec-websocket-protocol'] });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, protocol: undefined });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The Sec-WebSocket-Protocol a tab offers: the app's protocol and its token beside it. */
const offer = (token: string) => ({ 'Sec-WebSocket-Protocol': `prs, prs-token.${token}` });

test('the token is 32+ random characters, in the fragment of a loopback URL', () => {
  expect(host.token.length).toBeGreaterThanOrEqual(32);
  expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{32,}$/);
});

test('static files need no token and set no cookie; the WebSocket and downloads refuse without it', async () => {
  const page = await get('/');
  expect(page.status).toBe(200);
  expect(page.headers['set-cookie']).toBeUndefined();
  expect(page.headers['referrer-policy']).toBe('no-referrer');
  expect(page.headers['content-security-policy']).toContain("default-src 'self'");
  expect((await upgrade('/ws')).status).toBe(401);
  expect((await upgrade('/ws', offer('x'.repeat(host.token.length)))).status).toBe(401);
  // The old ways in are closed: a token in the query or in a cookie opens nothing.
  expect((await upgrade(`/ws?token=${host.token}`)).status).toBe(401);
  expect((await upgrade('/ws', { Cookie: `prs_token_${host.port}=${host.token}` })).status).toBe(401);
  expect((await get(`/export?token=${host.token}&runDir=/tmp&what=run-zip`)).status).toBe(401);
  expect((await get('/export?ticket=made-up&runDir=/tmp&what=run-zip')).status).toBe(401);
});

test('the right token opens the WebSocket as a subprotocol value, which the host never echoes', async () => {
  const ok = await upgrade('/ws', offer(host.token));
  expect(ok.status).toBe(101);
  expect(ok.protocol).toBe('prs');
  // A script may send it as a bearer header instead.
  expect((await upgrade('/ws', { Authorization: `Bearer ${host.token}` })).status).toBe(101);
});

test('a foreign Host or Origin is refused with 403, even with the token', async () => {
  expect((await get('/', { Host: `evil.example:${host.port}` })).status).toBe(403);
  expect((await get('/', { Host: 'evil.example' })).status).toBe(403);
  expect((await get('/', { Origin: 'http://evil.example' })).status).toBe(403);
  expect((await get('/', { Origin: `http://127.0.0.1:${host.port + 1}` })).status).toBe(403);
  const t = offer(host.token);
  expect((await upgrade('/ws', { ...t, Origin: 'http://evil.example' })).status).toBe(403);
  expect((await upgrade('/ws', { ...t, Host: `attacker.test:${host.port}` })).status).toBe(403);
  // Its own origin is fine.
  expect((await upgrade('/ws', { ...t, Origin: `http://127.0.0.1:${host.port}` })).status).toBe(101);
});

test('binding to a non-loopback address is refused', async () => {
  const child = startServe(['--port', '0', '--host', '0.0.0.0']);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).not.toBe(0);
  expect(out).toMatch(/refusing to listen on 0\.0\.0\.0/);
});

test('a page from another origin cannot drive the host, even knowing the token', async ({ page }) => {
  // The browser refuses a cross-origin WebSocket's handshake because the host answers 403.
  await page.goto('about:blank');
  const result = await page.evaluate(
    async ({ url, token }) => {
      return await new Promise<string>((resolve) => {
        const ws = new WebSocket(url, ['prs', `prs-token.${token}`]);
        ws.onopen = () => resolve('open');
        ws.onerror = () => resolve('error');
      });
    },
    { url: `ws://127.0.0.1:${host.port}/ws`, token: host.token },
  );
  // about:blank has an opaque origin ("null"): refused.
  expect(result).toBe('error');
});

/** What the evaluated functions use of a page (this file is type-checked without the DOM library). */
interface PageGlobals {
  document: {
    cookie: string;
    referrer: string;
    body: { append(node: unknown): void };
    createElement(tag: 'a'): { href: string; click(): void };
  };
  sessionStorage: Record<string, string>;
  localStorage: Record<string, string>;
  name: string;
}

/** A tiny server on another loopback port that records what every request brings. */
async function listener(): Promise<{
  url: string;
  seen: Array<{ url: string; cookie?: string; referer?: string }>;
  close(): Promise<void>;
}> {
  const seen: Array<{ url: string; cookie?: string; referer?: string }> = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', cookie: req.headers.cookie, referer: req.headers.referer });
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>other</title><p>another server on 127.0.0.1</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    // The app's tab still shows this server's page over a keep-alive connection: close that too,
    // or server.close() waits for it (it did, past the test's timeout, once in six runs).
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

test('no other port on 127.0.0.1 receives the token: no cookie, no referrer, nothing in its storage', async ({
  page,
  context,
}) => {
  const other = await listener();
  try {
    await page.goto(host.url);
    await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
    // The token left the address bar and lives only in this origin's session storage.
    expect(page.url()).not.toContain(host.token);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.cookie)).toBe('');
    expect(await context.cookies()).toEqual([]);

    // The same browser opens a page of the other server in a new tab, and the app's tab navigates
    // to it by a link (what a Referer would leak).
    const tab = await context.newPage();
    await tab.goto(`${other.url}/direct`);
    await page.evaluate((href) => {
      const { document } = globalThis as unknown as PageGlobals;
      const a = document.createElement('a');
      a.href = href;
      document.body.append(a);
      a.click();
    }, `${other.url}/from-app`);
    await page.waitForURL(`${other.url}/from-app`);
    for (const p of [tab, page]) {
      const found = await p.evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        return {
          cookie: g.document.cookie,
          referrer: g.document.referrer,
          session: JSON.stringify({ ...g.sessionStorage }),
          local: JSON.stringify({ ...g.localStorage }),
          name: g.name,
        };
      });
      expect(JSON.stringify(found)).not.toContain(host.token);
      expect(found.cookie).toBe('');
      expect(found.referrer).toBe('');
    }
    expect(other.seen.map((s) => s.url)).toEqual(expect.arrayContaining(['/direct', '/from-app']));
    for (const s of other.seen) {
      expect(JSON.stringify(s)).not.toContain(host.token);
      expect(s.cookie).toBeUndefined();
      // Its own pages may name themselves (a favicon request); none names the app.
      expect(s.referer ?? '').not.toContain(`:${host.port}`);
    }
    await tab.close();
  } finally {
    await other.close();
  }
});

/** A job whose mini-batches wait for a release file: live for as long as the test needs. */
function heldJob(release: string) {
  const files: Record<string, string> = {
    'job.yaml': `name: held-job
entry_script: score.mjs
inputs:
  - path: ./data
mini_batch_size: 1
process_count_per_node: 1
run_invocation_timeout: 600
`,
    'score.mjs': `import { existsSync } from 'node:fs';
export async function run(batch) {
  while (!existsSync(${JSON.stringify(release)})) await new Promise((r) => setTimeout(r, 50));
  return batch.map((f) => f + ' ok');
}
`,
  };
  for (let i = 0; i < 3; i++) files[`data/f${i}.txt`] = `${i}`;
  return files;
}

test('a reload mid-run and a second tab from the printed URL keep working; a tab without the token is told why', async ({
  page,
  context,
}) => {
  let release = '';
  const held = await startHost((dir) => {
    release = path.join(dir, '..', 'release');
    writeExample(dir, 'held', heldJob(release));
  });
  try {
    await page.goto(held.url);
    await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
    await page.getByTestId('example-held').getByRole('button', { name: 'Start' }).click();
    await expect(page.locator('[data-run-state="running"]')).toBeVisible();

    // The address bar no longer has the token; the session storage does, so a reload gets back in.
    await page.reload();
    await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
    await expect(page.locator('[data-run-state="running"]')).toBeVisible();

    const second = await context.newPage();
    await second.goto(held.url);
    await expect(second.locator('[data-app-state="ready"]')).toBeVisible();
    await second.getByTestId('run-row').first().getByRole('button', { name: 'Open' }).click();
    await expect(second.locator('[data-run-state="running"]')).toBeVisible();

    // The bare address (no token, fresh tab) cannot connect, and says what to open instead.
    const bare = await context.newPage();
    await bare.goto(held.base + '/');
    await expect(bare.locator('[data-app-state="error"]')).toBeVisible();
    await expect(bare.locator('.app')).toContainText('open the URL `prs serve` printed');
    // A stale token (an earlier start's) is refused at the handshake, and the tab says so.
    const stale = await context.newPage();
    await stale.goto(`${held.base}/#token=${'x'.repeat(held.token.length)}`);
    await expect(stale.locator('[data-app-state="error"]')).toBeVisible();
    await expect(stale.locator('.app')).toContainText('refused this tab');
    await stale.close();

    writeFileSync(release, '');
    await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
    await expect(second.locator('[data-run-state="completed"]')).toBeVisible();
    await second.close();
    await bare.close();
  } finally {
    if (release && !existsSync(release)) writeFileSync(release, '');
    await held.stop();
  }
});
