// The web host runs code, so it must refuse everything that is not the page it printed the URL for.

import { expect, test } from '@playwright/test';
import http from 'node:http';
import { startHost, startServe, type Host } from './host';

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

function upgrade(path: string, headers: Record<string, string> = {}): Promise<number> {
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
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('the token is 32+ random characters and the URL is on loopback', () => {
  expect(host.token.length).toBeGreaterThanOrEqual(32);
  expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
});

test('no token and a wrong token are refused with 401', async () => {
  expect((await get('/')).status).toBe(401);
  expect((await get('/index.html')).status).toBe(401);
  expect((await get(`/?token=${'x'.repeat(host.token.length)}`)).status).toBe(401);
  expect((await get('/', { Cookie: `prs_token_${host.port}=wrong` })).status).toBe(401);
  expect(await upgrade('/ws')).toBe(401);
  expect(await upgrade('/ws?token=wrong')).toBe(401);
});

test('the right token is traded for a HttpOnly SameSite=Strict cookie, with a CSP', async () => {
  const res = await get(`/?token=${host.token}`);
  expect(res.status).toBe(302);
  const cookie = String(res.headers['set-cookie']);
  expect(cookie).toContain('HttpOnly');
  expect(cookie).toContain('SameSite=Strict');
  expect(res.headers['content-security-policy']).toContain("default-src 'self'");
  const page = await get('/', { Cookie: `prs_token_${host.port}=${host.token}` });
  expect(page.status).toBe(200);
  expect(await upgrade(`/ws?token=${host.token}`)).toBe(101);
});

test('a foreign Host or Origin is refused with 403, even with the token', async () => {
  const t = `/?token=${host.token}`;
  expect((await get(t, { Host: `evil.example:${host.port}` })).status).toBe(403);
  expect((await get(t, { Host: 'evil.example' })).status).toBe(403);
  expect((await get(t, { Origin: 'http://evil.example' })).status).toBe(403);
  expect((await get(t, { Origin: `http://127.0.0.1:${host.port + 1}` })).status).toBe(403);
  expect(await upgrade(`/ws?token=${host.token}`, { Origin: 'http://evil.example' })).toBe(403);
  expect(await upgrade(`/ws?token=${host.token}`, { Host: `attacker.test:${host.port}` })).toBe(403);
  // Its own origin is fine.
  expect(await upgrade(`/ws?token=${host.token}`, { Origin: `http://127.0.0.1:${host.port}` })).toBe(101);
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

test('a page from another origin cannot drive the host', async ({ page }) => {
  // The browser refuses a cross-origin WebSocket's handshake because the host answers 403.
  await page.goto('about:blank');
  const result = await page.evaluate(async (url) => {
    return await new Promise<string>((resolve) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve('open');
      ws.onerror = () => resolve('error');
    });
  }, `ws://127.0.0.1:${host.port}/ws?token=${host.token}`);
  // about:blank has an opaque origin ("null"): refused.
  expect(result).toBe('error');
});
