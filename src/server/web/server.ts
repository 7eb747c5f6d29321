// The local web host behind `prs serve`: serves the built renderer (out/renderer) and speaks the
// API contract over a WebSocket. A server that runs user code must not be drivable by any web page
// the user visits, so: loopback only by default, a fresh random token per start (query once, then a
// HttpOnly SameSite=Strict cookie), and Host/Origin checked against the server's own (DNS rebinding).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiMethod, ClientFrame, ServerFrame } from '../../common/api';
import type { WorkerLauncher } from '../../engine/launcher';
import { packageRoot } from '../../engine/paths';
import { AppHost } from './appHost';
import { exportContentType, exportFileName, isExportWhat, writeExport } from './exports';
import { APP_CSP } from '../../common/csp';

export interface ServerOptions {
  port?: number;
  host?: string;
  examplesDir?: string;
  runsDir?: string;
  launcher?: WorkerLauncher;
  /** Must be true to bind anything but loopback; the server then warns on stderr. */
  allowNonLoopback?: boolean;
  /** Folder of the built renderer; default out/renderer in the package. */
  rendererDir?: string;
}

export interface RunningServer {
  url: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

export function contentSecurityPolicy(): string {
  return APP_CSP;
}

function sameToken(a: string | undefined | null, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const bindHost = opts.host ?? '127.0.0.1';
  if (!isLoopback(bindHost)) {
    if (!opts.allowNonLoopback) {
      throw new Error(
        `refusing to listen on ${bindHost}: the app runs code, so it binds to 127.0.0.1 only ` +
          `(pass allowNonLoopback / --allow-remote to override, at your own risk)`,
      );
    }
    console.warn(
      `prs serve: WARNING: listening on ${bindHost}. Anyone who can reach this port and learns the token can run code as you.`,
    );
  }
  const rendererDir = path.resolve(opts.rendererDir ?? path.join(packageRoot(), 'out', 'renderer'));
  const examplesDir = path.resolve(
    opts.examplesDir ?? process.env.PRS_EXAMPLES_DIR ?? path.join(packageRoot(), 'examples'),
  );
  const host = new AppHost({
    examplesDir,
    runsDir: opts.runsDir ?? process.env.PRS_RUNS_DIR,
    launcher: opts.launcher,
  });
  const token = randomBytes(24).toString('base64url'); // 32 characters
  let port = 0;
  let cookieName = 'prs_token';

  const allowedHosts = (): Set<string> => {
    const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
    if (!isLoopback(bindHost)) names.add(bindHost.includes(':') ? `[${bindHost}]` : bindHost);
    return new Set([...names].map((n) => `${n}:${port}`));
  };
  /** 403 for a foreign Host or Origin (DNS rebinding, cross-site requests). */
  const foreign = (req: IncomingMessage): boolean => {
    const allowed = allowedHosts();
    if (!req.headers.host || !allowed.has(req.headers.host.toLowerCase())) return true;
    const origin = req.headers.origin;
    if (origin !== undefined) {
      try {
        const u = new URL(origin);
        if (u.protocol !== 'http:' || !allowed.has(u.host.toLowerCase())) return true;
      } catch {
        return true;
      }
    }
    return false;
  };
  const authorised = (req: IncomingMessage, url: URL): boolean =>
    sameToken(url.searchParams.get('token'), token) ||
    sameToken(cookieValue(req.headers.cookie, cookieName), token) ||
    sameToken(req.headers.authorization?.replace(/^Bearer /, ''), token);

  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
    'Content-Security-Policy': contentSecurityPolicy(),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'no-store',
    ...extra,
  });
  const refuse = (res: ServerResponse, status: number, text: string) => {
    res.writeHead(status, headers({ 'Content-Type': 'text/plain; charset=utf-8' }));
    res.end(text + '\n');
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (foreign(req)) return refuse(res, 403, 'forbidden: Host or Origin is not this server');
    if (!authorised(req, url))
      return refuse(res, 401, 'unauthorised: open the URL `prs serve` printed (with its token)');
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'method not allowed');
    const cookie = `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    if (url.searchParams.has('token')) {
      // Trade the token in the address bar for a cookie, and drop it from the visible URL.
      url.searchParams.delete('token');
      res.writeHead(302, headers({ 'Set-Cookie': cookie, Location: url.pathname + url.search }));
      return res.end();
    }
    if (url.pathname === '/export') {
      // A download, streamed as it is made: the output converted, or a zip of logs or the run folder.
      const runDir = url.searchParams.get('runDir');
      const what = url.searchParams.get('what');
      if (!runDir || !isExportWhat(what)) return refuse(res, 400, 'export: give runDir and what');
      const abs = path.resolve(runDir);
      if (!existsSync(path.join(abs, 'run.json'))) return refuse(res, 404, `${abs}: not a run folder`);
      res.writeHead(
        200,
        headers({
          'Content-Type': exportContentType(what),
          'Content-Disposition': `attachment; filename="${exportFileName(abs, what)}"`,
        }),
      );
      if (req.method === 'HEAD') return res.end();
      writeExport(abs, what, res).catch((err: unknown) => {
        // Headers are out: all that is left is to cut the download short so it is not taken as whole.
        console.error(`prs serve: export of ${abs} failed: ${String(err)}`);
        res.destroy();
      });
      return;
    }
    let rel = decodeURIComponent(url.pathname);
    if (rel === '/' || !path.extname(rel)) rel = '/index.html';
    const file = path.resolve(rendererDir, '.' + rel);
    if (!file.startsWith(rendererDir + path.sep)) return refuse(res, 404, 'not found');
    if (!existsSync(file) || !statSync(file).isFile()) {
      if (rel === '/index.html')
        return refuse(res, 500, `the app is not built: ${file} is missing (run \`npm run build\`)`);
      return refuse(res, 404, 'not found');
    }
    res.writeHead(
      200,
      headers({
        'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Set-Cookie': cookie,
      }),
    );
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 8 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const deny = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (foreign(req)) return deny(403, 'Forbidden');
    if (!authorised(req, url)) return deny(401, 'Unauthorized');
    if (url.pathname !== '/ws') return deny(404, 'Not Found');
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws));
  });

  const serveSocket = (ws: WebSocket) => {
    const send = (frame: ServerFrame) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
    };
    const conn = host.connect((event) => send({ kind: 'event', event }));
    ws.on('message', (raw) => {
      let frame: ClientFrame;
      try {
        frame = JSON.parse(String(raw)) as ClientFrame;
      } catch {
        return;
      }
      if (frame.kind === 'ack') {
        conn.ack(frame.ack);
      } else if (frame.kind === 'req') {
        conn
          .call(frame.method as ApiMethod, frame.params as never)
          .then((result) => send({ kind: 'res', id: frame.id, ok: true, result }))
          .catch((err: unknown) =>
            send({
              kind: 'res',
              id: frame.id,
              ok: false,
              error: err instanceof Error ? err.message : String(err),
            }),
          );
      }
    });
    ws.on('close', () => conn.close());
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  // Cookies are not port-isolated: two servers on one machine must not overwrite each other's.
  cookieName = `prs_token_${port}`;
  const shownHost = isLoopback(bindHost) ? '127.0.0.1' : bindHost.includes(':') ? `[${bindHost}]` : bindHost;
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    token,
    port,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await host.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
