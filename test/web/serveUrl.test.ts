// `prs serve` prints the address it actually bound, and that URL works as printed: its page loads
// (the Host check accepts the address) and its token opens the WebSocket there.

import { afterEach, describe, expect, it } from 'vitest';
import { connect, startServe, type Serve } from './serve';

let serve: Serve | undefined;
afterEach(async () => {
  await serve?.stop();
  serve = undefined;
});

async function worksAsPrinted(s: Serve): Promise<void> {
  const page = await fetch(new URL('/', s.url));
  expect(page.status).toBe(200);
  const client = await connect(s, `ws://${s.url.host}`);
  expect((await client.request('listRuns', {})).ok).toBe(true);
  client.ws.close();
}

describe('the URL prs serve prints', () => {
  it('is 127.0.0.1 by default, with the token in the fragment', async () => {
    serve = await startServe([]);
    expect(serve.url.href).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{32,}$/);
    await worksAsPrinted(serve);
  });

  it('is [::1] for --host ::1', async () => {
    serve = await startServe(['--host', '::1']);
    expect(serve.url.href).toMatch(/^http:\/\/\[::1\]:\d+\/#token=/);
    await worksAsPrinted(serve);
  });

  it('is 127.0.0.5 for --host 127.0.0.5', async () => {
    serve = await startServe(['--host', '127.0.0.5']);
    expect(serve.url.href).toMatch(/^http:\/\/127\.0\.0\.5:\d+\/#token=/);
    await worksAsPrinted(serve);
  });

  it('with --allow-remote, is the address bound, with a warning that the token crosses plain HTTP', async () => {
    serve = await startServe(['--host', '0.0.0.0', '--allow-remote']);
    expect(serve.url.href).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/#token=/);
    const s = serve;
    await expect
      .poll(() => s.output(), { timeout: 30_000 })
      .toMatch(/WARNING: listening on 0\.0\.0\.0\. The token travels over plain HTTP/);
    // Reached through one of the machine's own addresses, the Host check lets it in.
    const viaLoopback = { ...s, url: new URL(`http://127.0.0.1:${s.port}/#token=${s.token}`) };
    await worksAsPrinted(viaLoopback);
  });
});
