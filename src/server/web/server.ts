// The local web host behind `prs serve`: serves the built renderer (out/renderer) and speaks the
// API contract over a WebSocket. A server that runs user code must not be drivable by any web page
// the user visits, so: loopback only by default; a fresh random token per start that only this
// origin can present (the page keeps it in its session storage and offers it when it opens the
// WebSocket; never a cookie, which browsers send to every port of 127.0.0.1); downloads by single-use
// tickets; and Host/Origin checked against the server's own (DNS rebinding). Static files carry no
// secret and need none.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { WebSocketServer } from 'ws';
import type { WorkerLauncher } from '../../engine/launcher';
import { packageRoot } from '../../runtime/paths';
import { AppHost } from '../../host/appHost';
import { exportContentType, exportFileName, isExportWhat, writeExport } from '../../host/exports';
import { openRunFolder } from '../../host/runFolderPaths';
import { serveSocket } from './socketSession';
import { APP_CSP } from '../../common/csp';
import type { ExportWhat } from '../../common/api';
import { WS_PROTOCOL, WS_TOKEN_PREFIX } from '../../common/contract';

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

/** The token a browser offers as a Sec-WebSocket-Protocol value (a page cannot set headers on a WebSocket). */
function protocolToken(req: IncomingMessage): string | undefined {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',');
  return offered
    .map((p) => p.trim())
    .find((p) => p.startsWith(WS_TOKEN_PREFIX))
    ?.slice(WS_TOKEN_PREFIX.length);
}

function bearerToken(req: IncomingMessage): string | undefined {
  return /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
}

/** The request target as a URL, or null for one `new URL` refuses (`//[`, `http://[`). */
function requestUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

function decodedPath(url: URL): string | null {
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    return null; // a bad percent-encoding such as /%E0%A4%A
  }
}

/**
 * RFC 6266: an ASCII `filename` for old clients and the exact name as UTF-8 in `filename*`. A header
 * value with characters beyond Latin-1 makes Node throw, so the name never goes in raw.
 */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** An address as it goes in a URL or a Host header: IPv6 in brackets. */
function urlHost(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}

/** Every name a client may use to reach an address bound to all interfaces (--allow-remote only). */
function wildcardNames(): string[] {
  const names = [os.hostname()];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) names.push(a.address);
  }
  return names;
}

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const bindHost = (opts.host ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1');
  if (!isLoopback(bindHost)) {
    if (!opts.allowNonLoopback) {
      throw new Error(
        `refusing to listen on ${bindHost}: the app runs code, so it binds to 127.0.0.1 only ` +
          `(pass allowNonLoopback / --allow-remote to override, at your own risk)`,
      );
    }
    console.warn(
      `prs serve: WARNING: listening on ${bindHost}. The token travels over plain HTTP: anyone who can ` +
        `reach this port and sees or learns the token can run code as you.`,
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
  // Filled in once listening: the Host headers (and Origins) this server answers to.
  let allowed = new Set<string>();

  /** 403 for a foreign Host or Origin (DNS rebinding, cross-site requests). */
  const foreign = (req: IncomingMessage): boolean => {
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

  /** A download, streamed as it is made: the output converted, or a zip of logs or the run folder. */
  const serveExport = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    // A link follows a single-use ticket; a script may instead send the token as a bearer header.
    const ticket = host.downloads.redeem(url.searchParams.get('ticket'));
    let runDir = ticket?.runDir ?? null;
    let what: unknown = ticket?.what;
    if (!ticket) {
      if (!sameToken(bearerToken(req), token))
        return refuse(
          res,
          401,
          'unauthorised: export links work once, within a minute; export again from the app',
        );
      runDir = url.searchParams.get('runDir');
      what = url.searchParams.get('what');
    }
    if (!runDir || !isExportWhat(what)) return refuse(res, 400, 'export: give runDir and what');
    const abs = path.resolve(runDir);
    // The folder is checked before the headers go out, so that a bad one is a 404, not a download
    // cut short; writeExport checks it again (it is also the app's "save as").
    openRunFolder(abs)
      .then(
        () => sendExport(req, res, abs, what),
        (err: unknown) => refuse(res, 404, err instanceof Error ? err.message : String(err)),
      )
      .catch((err: unknown) => {
        console.error(`prs serve: export of ${abs} failed: ${String(err)}`);
        res.destroy();
      });
  };

  const sendExport = (req: IncomingMessage, res: ServerResponse, abs: string, what: ExportWhat) => {
    res.writeHead(
      200,
      headers({
        'Content-Type': exportContentType(what),
        'Content-Disposition': contentDisposition(exportFileName(abs, what)),
      }),
    );
    if (req.method === 'HEAD') return res.end();
    writeExport(abs, what, res).catch((err: unknown) => {
      // Headers are out: all that is left is to cut the download short so it is not taken as whole.
      console.error(`prs serve: export of ${abs} failed: ${String(err)}`);
      res.destroy();
    });
  };

  /** The built app: static files that carry no secret, so they need none. */
  const serveStatic = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    let rel = decodedPath(url);
    if (rel === null)
      return refuse(res, 400, `bad request: ${url.pathname} is not a valid percent-encoded path`);
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
      headers({ 'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' }),
    );
    if (req.method === 'HEAD') return res.end();
    pipeline(createReadStream(file), res).catch(() => res.destroy());
  };

  const server = createServer((req, res) => {
    // Nothing a request carries may end the process: a throw here answers this request alone.
    try {
      const url = requestUrl(req);
      if (!url) return refuse(res, 400, 'bad request: the request target is not a valid URL');
      if (foreign(req)) return refuse(res, 403, 'forbidden: Host or Origin is not this server');
      if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'method not allowed');
      if (url.pathname === '/export') return serveExport(req, res, url);
      serveStatic(req, res, url);
    } catch (err) {
      console.error(`prs serve: ${req.method} ${req.url}: ${String(err)}`);
      if (res.headersSent) res.destroy();
      else refuse(res, 500, 'internal error (see the terminal running `prs serve`)');
    }
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 8 * 1024 * 1024,
    // Answer with the app's protocol, never echoing the offered token.
    handleProtocols: (offered) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const deny = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    try {
      const url = requestUrl(req);
      if (!url) return deny(400, 'Bad Request');
      if (foreign(req)) return deny(403, 'Forbidden');
      if (!sameToken(protocolToken(req) ?? bearerToken(req), token)) return deny(401, 'Unauthorized');
      if (url.pathname !== '/ws') return deny(404, 'Not Found');
      wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, host));
    } catch (err) {
      console.error(`prs serve: upgrade ${req.url}: ${String(err)}`);
      socket.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const port = bound.port;
  const names = ['localhost', bound.address, bindHost];
  if (bound.address === '0.0.0.0' || bound.address === '::') names.push(...wildcardNames());
  allowed = new Set(names.map((n) => `${urlHost(n).toLowerCase()}:${port}`));
  return {
    // The address actually bound (`::1` shows as [::1], 127.0.0.5 as itself). The token goes in the
    // fragment, which a browser never sends anywhere: the page moves it into its session storage.
    url: `http://${urlHost(bound.address)}:${port}/#token=${token}`,
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
