// An agent's stand-in for a run folder it cannot see. Workers write what the worker protocol does
// not carry (the EntryScript logger's files, logged metrics, failed subprocesses' logs, profiles,
// EntryScript.output_dir) into the run folder; on a machine without it they write into this local
// folder instead, and the mirror sends what they wrote to the leader's data endpoint (an
// authenticated PUT), so the leader keeps the one log tree. Logs are appended as they grow; an
// output file is sent whole once it stops changing.

import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { SessionData } from './wire';

/** The parts of a run folder a worker writes, as the leader's endpoint accepts them. */
export function acceptedRunFile(rel: string): boolean {
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\') || p.includes('\0')))
    return false;
  if (parts[0] === 'outputs' && parts.length >= 2) return true;
  if (parts[0] === 'logs' && parts[1] === 'user' && parts.length >= 4) return true;
  // logs/sys/node/<id>/<process>.profile
  return parts.length === 5 && parts.slice(0, 3).join('/') === 'logs/sys/node' && rel.endsWith('.profile');
}

const TICK_MS = 1000;
const CHUNK = 4 * 1024 * 1024;

interface Sent {
  size: number;
  mtimeMs: number;
}

export class RunMirror {
  private readonly sent = new Map<string, Sent>();
  /** Output files seen changed at the last pass: sent when a pass finds them unchanged. */
  private readonly settling = new Map<string, Sent>();
  private timer: NodeJS.Timeout | null = null;
  private passing: Promise<void> = Promise.resolve();
  users = 0;

  constructor(
    readonly localDir: string,
    private readonly data: SessionData,
    private readonly agent: string,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.pass(false), TICK_MS);
  }

  /** Sends everything written so far (a worker exits: the leader reads its metrics next). */
  flush(): Promise<void> {
    return this.pass(true);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    await rm(this.localDir, { recursive: true, force: true });
  }

  private pass(final: boolean): Promise<void> {
    this.passing = this.passing
      .then(() => this.sync(final))
      .catch((err: Error) => {
        this.log(`Agent ${this.agent}: could not send the run folder's files to the leader: ${err.message}.`);
      });
    return this.passing;
  }

  private async sync(final: boolean): Promise<void> {
    for (const rel of await files(this.localDir)) {
      if (!acceptedRunFile(rel)) continue;
      const file = path.join(this.localDir, ...rel.split('/'));
      const st = await stat(file).catch(() => null);
      if (!st) continue;
      const now = { size: st.size, mtimeMs: st.mtimeMs };
      const before = this.sent.get(rel);
      if (before && before.size === now.size && before.mtimeMs === now.mtimeMs) continue;
      if (rel.startsWith('logs/')) {
        // Logs only grow: what is new since the last pass.
        let at = before && before.size <= now.size ? before.size : 0;
        while (at < now.size) {
          const end = Math.min(now.size, at + CHUNK);
          await this.put(rel, file, at, end, at === 0 && !before);
          at = end;
        }
        this.sent.set(rel, now);
      } else {
        const seen = this.settling.get(rel);
        if (!final && !(seen && seen.size === now.size && seen.mtimeMs === now.mtimeMs)) {
          this.settling.set(rel, now);
          continue;
        }
        await this.put(rel, file, 0, now.size, true);
        this.settling.delete(rel);
        this.sent.set(rel, now);
      }
    }
  }

  /** Bytes [start, end) of one file to the leader's run folder; `whole`: it replaces the file there. */
  private put(rel: string, file: string, start: number, end: number, whole: boolean): Promise<void> {
    const url = new URL(`/run/${Buffer.from(rel).toString('base64url')}`, this.data.url);
    return new Promise((resolve, reject) => {
      const req = http.request(
        url,
        {
          method: 'PUT',
          timeout: 60_000,
          headers: {
            Authorization: `Bearer ${this.data.token}`,
            'X-PRS-Agent': this.agent,
            'X-PRS-Offset': String(whole ? 0 : start),
            ...(whole ? { 'X-PRS-Whole': '1' } : {}),
            'Content-Length': String(end - start),
          },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d.slice(0, 300)));
          res.on('end', () =>
            res.statusCode === 204
              ? resolve()
              : reject(new Error(`${rel}: HTTP ${res.statusCode} from ${this.data.url}: ${body.trim()}`)),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${rel}: no reply within 60 s`)));
      req.on('error', reject);
      if (end === start) return void req.end();
      // The stream owns its descriptor: a FileHandle whose fd a stream closed fails its own close
      // on garbage collection, which ends the agent (EBADF).
      const stream = createReadStream(file, { start, end: end - 1 });
      stream.on('error', (err) => req.destroy(err));
      stream.pipe(req);
    });
  }
}

/** Every file under `dir`, as posix paths relative to it. */
async function files(dir: string, rel = ''): Promise<string[]> {
  const entries = await readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const name = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await files(dir, name)));
    else if (e.isFile()) out.push(name);
  }
  return out.sort();
}
