// An agent's copies of a run's files, for a machine that does not see them at the leader's paths.
// The code bundle, models and side inputs are fetched once per agent into a content-addressed cache
// under its work folder (a root by the digest of its listing, each file by its SHA-256, checked on
// arrival); a mini-batch's inputs are fetched for that mini-batch (whole files, or just the byte
// ranges of a text table) and removed once its result is back. Workers then run on the local
// copies: the paths in their configuration, environment and mini-batches are rewritten, keeping
// the original file names.

import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { WorkerConfig } from '../../common/protocol';
import type { MiniBatch } from '../../common/minibatch';
import { filePath, sha256File, type Root } from './manifest';
import type { InputStamp, SessionData } from './wire';

/**
 * Leader path → local path, for the roots this machine does not hold as the leader does; `exact`:
 * only that path itself (a file root's folder, e.g. AZUREML_MODEL_DIR of a file model, holds other,
 * undeclared files on the leader).
 */
export type Rebase = Array<[from: string, to: string, exact?: 'exact']>;

export class DataCache {
  /** Hashes of local files by path, size and mtime: each version hashed once. */
  private readonly hashes = new Map<string, Promise<string>>();
  private readonly roots = new Map<string, Promise<string>>();
  private readonly blobs = new Map<string, Promise<string>>();
  private readonly wholeInputs = new Map<string, Promise<string>>();

  constructor(
    readonly workDir: string,
    private readonly agent: string,
  ) {}

  /** The roots to take from the leader, and where their copies are here. */
  async rebaseFor(data: SessionData): Promise<Rebase> {
    const out: Rebase = [];
    for (const root of data.bundle.roots) {
      if (await this.sameHere(root)) continue;
      const local = await this.rootCopy(data, root);
      out.push([root.path, local]);
      if (!root.dir) out.push([path.dirname(root.path), path.dirname(local), 'exact']);
    }
    // Longest first: a model inside source_directory maps by its own root.
    return out.sort((a, b) => b[0].length - a[0].length);
  }

  private async sameHere(root: Root): Promise<boolean> {
    for (const entry of root.files) {
      const file = filePath(root, entry);
      let st;
      try {
        st = statSync(file);
      } catch {
        return false;
      }
      if (!st.isFile() || st.size !== entry.size) return false;
      const key = `${file}\0${st.size}\0${st.mtimeMs}`;
      let hash = this.hashes.get(key);
      if (!hash) this.hashes.set(key, (hash = sha256File(file)));
      if ((await hash.catch(() => '')) !== entry.sha256) return false;
    }
    return true;
  }

  private rootCopy(data: SessionData, root: Root): Promise<string> {
    let p = this.roots.get(root.digest);
    if (!p) {
      p = this.buildRoot(data, root);
      this.roots.set(root.digest, p);
      p.catch(() => this.roots.delete(root.digest));
    }
    return p;
  }

  /** roots/<digest>/<the root's own name>: what run() sees keeps the leader's file and folder names. */
  private async buildRoot(data: SessionData, root: Root): Promise<string> {
    const final = path.join(this.workDir, 'roots', root.digest);
    const named = path.join(final, path.basename(root.path));
    // Complete from an earlier start of this agent: a root is renamed into place only when whole.
    if (existsSync(named)) return named;
    const tmp = `${final}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      for (const entry of root.files) {
        const blob = await this.blob(data, entry.sha256, filePath(root, entry));
        const dest =
          entry.rel === ''
            ? path.join(tmp, path.basename(root.path))
            : path.join(tmp, path.basename(root.path), ...entry.rel.split('/'));
        await mkdir(path.dirname(dest), { recursive: true });
        await link(blob, dest).catch(() => copyFile(blob, dest));
      }
      if (root.files.length === 0) await mkdir(path.join(tmp, path.basename(root.path)), { recursive: true });
      await mkdir(path.dirname(final), { recursive: true });
      await rename(tmp, final).catch(async (err: NodeJS.ErrnoException) => {
        if (!existsSync(named)) throw err;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    return named;
  }

  private blob(data: SessionData, sha256: string, leaderPath: string): Promise<string> {
    let p = this.blobs.get(sha256);
    if (!p) {
      p = (async () => {
        const dest = path.join(this.workDir, 'blobs', sha256);
        if (existsSync(dest)) return dest;
        const tmp = `${dest}.${randomBytes(4).toString('hex')}.tmp`;
        await mkdir(path.dirname(dest), { recursive: true });
        const got = await this.get(data, `/blob/${sha256}`, tmp, leaderPath).catch(async (err: Error) => {
          await rm(tmp, { force: true });
          throw err;
        });
        if (got !== sha256) {
          await rm(tmp, { force: true });
          throw new Error(
            `${leaderPath} fetched from the leader's data endpoint is not the declared file (sha256 ${got.slice(0, 12)}, expected ${sha256.slice(0, 12)})`,
          );
        }
        await rename(tmp, dest);
        return dest;
      })();
      this.blobs.set(sha256, p);
      p.catch(() => this.blobs.delete(sha256));
    }
    return p;
  }

  /**
   * The mini-batches with each input this machine does not hold as the leader does replaced by a
   * local copy under batches/<session>/<process>/<id>/; `drop(id)` removes them.
   */
  async localize(
    data: SessionData,
    where: string,
    batches: MiniBatch[],
    stamps: Record<string, InputStamp>,
  ): Promise<MiniBatch[]> {
    const out: MiniBatch[] = [];
    for (const batch of batches) {
      const dir = this.batchDir(where, batch.id);
      const sources = [];
      for (const [i, source] of batch.sources.entries()) {
        const into = path.join(dir, String(i));
        if (source.kind === 'files') {
          // A few at a time: many small files are round trips more than bytes.
          const files = await mapLimit(source.files, 8, async (f, j) => {
            const stamp = stamps[f];
            if (!stamp || holds(f, stamp)) return f;
            const dest = path.join(into, String(j), path.basename(f));
            await mkdir(path.dirname(dest), { recursive: true });
            await this.get(data, `/input/${stamp.id}`, dest, f);
            return dest;
          });
          sources.push({ ...source, files });
        } else if (source.kind === 'table') {
          const stamp = stamps[source.file];
          if (!stamp || holds(source.file, stamp)) sources.push(source);
          else {
            // Just the mini-batch's records, back to back, and the ranges that find them there.
            const dest = path.join(into, path.basename(source.file));
            await mkdir(into, { recursive: true });
            const ranges: Array<[number, number]> = [];
            let at = 0;
            for (const [start, end] of source.ranges) {
              if (end <= start) continue;
              await this.get(data, `/input/${stamp.id}`, dest, source.file, [start, end], at > 0);
              ranges.push([at, at + end - start]);
              at += end - start;
            }
            if (ranges.length === 0) await writeFile(dest, '');
            sources.push({ ...source, file: dest, ranges });
          }
        } else {
          // Parquet row groups need the file's footer: the whole file, once per version.
          const stamp = stamps[source.file];
          if (!stamp || holds(source.file, stamp)) sources.push(source);
          else sources.push({ ...source, file: await this.wholeInput(data, source.file, stamp) });
        }
      }
      out.push({ ...batch, sources });
    }
    return out;
  }

  private wholeInput(data: SessionData, file: string, stamp: InputStamp): Promise<string> {
    const key = `${stamp.id}-${stamp.size}-${Math.trunc(stamp.mtimeMs)}`;
    let p = this.wholeInputs.get(key);
    if (!p) {
      p = (async () => {
        const dest = path.join(this.workDir, 'inputs', key, path.basename(file));
        await mkdir(path.dirname(dest), { recursive: true });
        await this.get(data, `/input/${stamp.id}`, dest, file);
        return dest;
      })();
      this.wholeInputs.set(key, p);
      p.catch(() => this.wholeInputs.delete(key));
    }
    return p;
  }

  private batchDir(where: string, id: number): string {
    return path.join(this.workDir, 'batches', where, String(id));
  }

  drop(where: string, id: number): Promise<void> {
    return rm(this.batchDir(where, id), { recursive: true, force: true });
  }

  dropAll(where: string): Promise<void> {
    return rm(path.join(this.workDir, 'batches', where), { recursive: true, force: true });
  }

  /**
   * GETs one declared file (or the byte range [start, end)) into `dest`, appending when asked;
   * resolves to the SHA-256 of what arrived. Errors name the leader's file and the endpoint.
   */
  private get(
    data: SessionData,
    route: string,
    dest: string,
    leaderPath: string,
    range?: [number, number],
    append = false,
  ): Promise<string> {
    const url = new URL(route, data.url);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${data.token}`,
      'X-PRS-Agent': this.agent,
    };
    if (range && range[1] > range[0]) headers.Range = `bytes=${range[0]}-${range[1] - 1}`;
    const what = `${leaderPath}${range ? ` (bytes ${range[0]}-${range[1]})` : ''}`;
    return new Promise((resolve, reject) => {
      const fail = (why: string) =>
        reject(new Error(`could not fetch ${what} from the leader's data endpoint ${data.url}: ${why}`));
      const req = http.get(url, { headers, timeout: 60_000 }, (res) => {
        const expected = headers.Range ? 206 : 200;
        if (res.statusCode !== expected) {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d.slice(0, 500)));
          res.on('end', () => fail(`HTTP ${res.statusCode}: ${body.trim().slice(0, 300)}`));
          return;
        }
        const hash = createHash('sha256');
        const out = createWriteStream(dest, { flags: append ? 'a' : 'w' });
        res.on('data', (chunk: Buffer) => hash.update(chunk));
        res.on('error', (err) => fail(err.message));
        out.on('error', (err) => fail(`writing ${dest}: ${err.message}`));
        out.on('finish', () =>
          res.complete ? resolve(hash.digest('hex')) : fail('the reply was cut short'),
        );
        res.pipe(out);
      });
      req.on('timeout', () => req.destroy(new Error('no reply within 60 s')));
      // Not reachable from here: the leader chose its address from its own route to Redis.
      req.on('error', (err) =>
        fail(
          `${err.message} (start the run with --data-bind ADDRESS[:PORT] on an address this machine can reach)`,
        ),
      );
    });
  }
}

async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** The agent holds the leader's input file when size and mtime agree (a shared or copied folder). */
function holds(file: string, stamp: InputStamp): boolean {
  try {
    const st = statSync(file);
    return st.isFile() && st.size === stamp.size && Math.trunc(st.mtimeMs) === Math.trunc(stamp.mtimeMs);
  } catch {
    return false;
  }
}

/** A path under one of the rebased roots, moved to its local copy; any other value as it is. */
export function rebasePath(value: string, rebase: Rebase): string {
  for (const [from, to, exact] of rebase) {
    if (value === from) return to;
    if (!exact && value.startsWith(from + path.sep)) return to + value.slice(from.length);
  }
  return value;
}

export function rebaseConfig(config: WorkerConfig, rebase: Rebase): WorkerConfig {
  if (rebase.length === 0) return config;
  const p = (v: string) => rebasePath(v, rebase);
  return {
    ...config,
    entryScript: p(config.entryScript),
    sourceDirectory: p(config.sourceDirectory),
    args: config.args.map(p),
    models: Object.fromEntries(Object.entries(config.models).map(([k, v]) => [k, p(v)])),
    logDir: p(config.logDir),
    entryLogFile: p(config.entryLogFile),
    errorLogFile: config.errorLogFile && p(config.errorLogFile),
    metricsFile: config.metricsFile && p(config.metricsFile),
    outputDir: p(config.outputDir),
    profileFile: config.profileFile && p(config.profileFile),
  };
}

export function rebaseEnv(env: Record<string, string>, rebase: Rebase): Record<string, string> {
  if (rebase.length === 0) return env;
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, rebasePath(v, rebase)]));
}
