// The leader's data endpoint: agents that do not see the job's files at the leader's paths fetch
// them here. It serves only what the run declared (the bundle's files, by SHA-256; the inputs of
// mini-batches it has sent, by an id it gave them), never a path named by the request, and only to
// a client that shows the run's token, which reaches the agents through the run's Redis keys.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { constants, createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { mkdir, open, realpath, rename, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { filePath, type Bundle } from './manifest';
import { acceptedRunFile } from './runMirror';

interface Declared {
  /** Resolved when declared: a link changed later cannot point the endpoint elsewhere. */
  file: string;
  /** Bundle files must still be what was hashed; inputs are served as they are. */
  size?: number;
  mtimeMs?: number;
}

export interface DataEndpointOptions {
  host: string;
  port?: number;
  /** The host agents are told to reach (the bind address unless that is a wildcard). */
  advertise?: string;
  /** One line per request, for the run's log; never the token. */
  log?: (line: string) => void;
}

const BLOB = /^\/blob\/([0-9a-f]{64})$/;
const INPUT = /^\/input\/([0-9a-f]{32})$/;
/** A file of the run folder an agent's workers wrote, its path base64url-encoded (see runMirror.ts). */
const RUN_FILE = /^\/run\/([A-Za-z0-9_-]{1,1400})$/;

export class DataEndpoint {
  readonly token = randomBytes(32).toString('hex');
  private readonly tokenDigest = digest(this.token);
  private readonly blobs = new Map<string, Declared>();
  private readonly inputs = new Map<string, Declared>();
  private server: http.Server | null = null;
  private base = '';
  private runDir: string | null = null;

  constructor(private readonly o: DataEndpointOptions) {}

  get url(): string {
    return this.base;
  }

  /** Where agents' workers' files go; until it is known they are refused (503) and sent again. */
  setRunDir(runDir: string): void {
    this.runDir = runDir;
  }

  declareBundle(bundle: Bundle): void {
    for (const root of bundle.roots) {
      let top: string;
      try {
        top = realpathSync(root.path);
      } catch {
        continue;
      }
      for (const entry of root.files) {
        let file: string;
        try {
          file = realpathSync(filePath(root, entry));
        } catch {
          continue;
        }
        if (root.dir && !file.startsWith(top + path.sep)) continue;
        this.blobs.set(entry.sha256, { file, size: entry.size, mtimeMs: entry.mtimeMs });
      }
    }
  }

  /** Makes one input file fetchable; returns its id, or null when the leader cannot read it. */
  declareInput(file: string): { id: string; size: number; mtimeMs: number } | null {
    let st;
    try {
      st = statSync(file);
    } catch {
      return null;
    }
    if (!st.isFile()) return null;
    const id = digest(path.resolve(file)).toString('hex').slice(0, 32);
    this.inputs.set(id, { file: path.resolve(file) });
    return { id, size: st.size, mtimeMs: st.mtimeMs };
  }

  async start(): Promise<string> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        this.reply(req, res, 500, `could not serve: ${err.message}`);
      });
    });
    // A malformed request is answered and dropped; it never reaches the leader's error handlers.
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port ?? 0, this.o.host, () => resolve());
    });
    server.on('error', () => undefined);
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    const host = this.o.advertise ?? this.o.host;
    this.base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return this.base;
  }

  private authorized(req: http.IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (\S+)$/.exec(header);
    // Digests of equal length: the comparison takes the same time whatever was sent.
    return !!m && timingSafeEqual(digest(m[1]!), this.tokenDigest);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!this.authorized(req)) return this.reply(req, res, 401, 'a Bearer token of this run is needed');
    const url = req.url ?? '';
    // Names are hex digests or base64url: anything that looks like a path (dots, escapes) is refused.
    if (/%|\.\.|\/\/|\\|\?|#/.test(url)) return this.reply(req, res, 400, 'not a name this endpoint serves');
    if (req.method === 'PUT') return this.receive(req, res, url);
    if (req.method !== 'GET') return this.reply(req, res, 405, 'only GET and PUT');
    const blob = BLOB.exec(url);
    const input = INPUT.exec(url);
    const declared = blob ? this.blobs.get(blob[1]!) : input ? this.inputs.get(input[1]!) : undefined;
    if (!declared) return this.reply(req, res, 404, 'not a file this run declared');
    const st = await stat(declared.file).catch(() => null);
    if (!st?.isFile()) return this.reply(req, res, 404, 'the declared file is gone on the leader');
    if (declared.size !== undefined && (st.size !== declared.size || st.mtimeMs !== declared.mtimeMs))
      return this.reply(req, res, 409, 'the file changed on the leader since the run started');
    let start = 0;
    let end = st.size; // exclusive
    let status = 200;
    const range = req.headers.range;
    if (range !== undefined) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      const a = m ? Number(m[1]) : NaN;
      const b = m && m[2] !== '' ? Number(m[2]) + 1 : st.size;
      if (!m || !(a < b) || b > st.size) {
        res.setHeader('Content-Range', `bytes */${st.size}`);
        return this.reply(req, res, 416, `the range ${range} is not within the file's ${st.size} bytes`);
      }
      [start, end, status] = [a, b, 206];
      res.setHeader('Content-Range', `bytes ${start}-${end - 1}/${st.size}`);
    }
    res.writeHead(status, {
      'Content-Length': String(end - start),
      'Content-Type': 'application/octet-stream',
    });
    this.log(req, status, end - start);
    if (end === start) return void res.end();
    const stream = createReadStream(declared.file, { start, end: end - 1 });
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    stream.pipe(res);
  }

  /** A chunk of a file the agent's workers wrote in its stand-in for the run folder. */
  private async receive(req: http.IncomingMessage, res: http.ServerResponse, url: string): Promise<void> {
    const m = RUN_FILE.exec(url);
    const rel = m ? Buffer.from(m[1]!, 'base64url').toString('utf8') : '';
    if (!m || !acceptedRunFile(rel))
      return this.reply(req, res, 400, 'not a file of the run folder a worker writes (outputs/, logs/user/)');
    if (!this.runDir) return this.reply(req, res, 503, 'the run folder is not ready yet; send it again');
    const offset = Number(req.headers['x-prs-offset'] ?? NaN);
    const whole = req.headers['x-prs-whole'] === '1';
    if (!Number.isSafeInteger(offset) || offset < 0 || (whole && offset !== 0))
      return this.reply(req, res, 400, 'X-PRS-Offset must be a byte offset (0 with X-PRS-Whole)');
    const target = path.join(this.runDir, ...rel.split('/'));
    // A link in the run folder must not lead a write (or a new folder) out of it.
    const top = await realpath(this.runDir);
    let existing = path.dirname(target);
    while (!existsSync(existing) && existing.length > top.length) existing = path.dirname(existing);
    const parent = await realpath(existing);
    if (parent !== top && !parent.startsWith(top + path.sep))
      return this.reply(req, res, 400, 'that folder leads out of the run folder');
    await mkdir(path.dirname(target), { recursive: true });
    const dest = whole ? `${target}.${randomBytes(4).toString('hex')}.part` : target;
    const flags =
      constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (whole ? constants.O_TRUNC : 0);
    const handle = await open(dest, flags, 0o644);
    let at = offset;
    try {
      if (!whole && (await handle.stat()).size < offset)
        return this.reply(req, res, 409, `the file here is shorter than offset ${offset}; send it whole`);
      for await (const chunk of req as AsyncIterable<Buffer>) {
        await handle.write(chunk, 0, chunk.length, at);
        at += chunk.length;
      }
    } catch (err) {
      if (whole) await rm(dest, { force: true });
      throw err;
    } finally {
      await handle.close();
    }
    if (whole) await rename(dest, target);
    this.log(req, 204, at - offset);
    res.writeHead(204).end();
  }

  private reply(req: http.IncomingMessage, res: http.ServerResponse, status: number, why: string): void {
    this.log(req, status, 0);
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`${status}: ${why}\n`);
  }

  private log(req: http.IncomingMessage, status: number, bytes: number): void {
    const agent = String(req.headers['x-prs-agent'] ?? '?')
      .slice(0, 64)
      .replace(/[^\w.-]/g, '_');
    const url = (req.url ?? '').slice(0, 200).replace(/[^\x21-\x7e]/g, '_');
    this.o.log?.(`${req.method ?? '?'} ${url} ${status} ${bytes} agent=${agent}`);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
