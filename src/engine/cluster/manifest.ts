// What a cluster run declares for its agents to read: the code bundle (source_directory, and the
// entry script when it lies outside it), the models and the side inputs, each a root of files with
// size, mtime and SHA-256. The data endpoint serves only these files (by content), and an agent uses
// its own copy at the leader's path only when it holds the same content; otherwise it fetches them.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { JobSpec } from '../../common/spec';

export interface FileEntry {
  /** Posix path inside the root; "" for a root that is one file. */
  rel: string;
  size: number;
  mtimeMs: number;
  sha256: string;
}

export interface Root {
  /** "code", "entry", "model:<name>" or "side:<name>". */
  id: string;
  /** The leader's path: a folder, or one file. */
  path: string;
  dir: boolean;
  files: FileEntry[];
  /** SHA-256 of the listing (names and contents): the cache's name for this version of the root. */
  digest: string;
}

export interface Bundle {
  roots: Root[];
}

/** Folders no run needs and that can be large or churn while a run goes. */
const SKIPPED = new Set(['.git', '__pycache__']);

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * The files of one root. Symbolic links are followed only to files inside the root: a link out of
 * a declared folder must not make the endpoint serve what lies beyond it.
 */
async function listRoot(id: string, rootPath: string): Promise<Root> {
  const top = await realpath(rootPath);
  const files: FileEntry[] = [];
  const add = async (file: string, rel: string) => {
    const st = await stat(file);
    files.push({ rel, size: st.size, mtimeMs: st.mtimeMs, sha256: await sha256File(file) });
  };
  const isDir = (await stat(top)).isDirectory();
  if (!isDir) await add(top, '');
  else {
    const walk = async (dir: string, rel: string) => {
      const names = (await readdir(dir)).sort();
      for (const name of names) {
        if (SKIPPED.has(name)) continue;
        const full = path.join(dir, name);
        const relName = rel ? `${rel}/${name}` : name;
        const st = await lstat(full);
        if (st.isDirectory()) await walk(full, relName);
        else if (st.isFile()) await add(full, relName);
        else if (st.isSymbolicLink()) {
          const target = await realpath(full).catch(() => null);
          if (target === null || !target.startsWith(top + path.sep)) continue;
          if ((await stat(target)).isFile()) await add(target, relName);
        }
      }
    };
    await walk(top, '');
  }
  const digest = createHash('sha256')
    .update(JSON.stringify(files.map((f) => [f.rel, f.size, f.sha256])))
    .digest('hex');
  return { id, path: rootPath, dir: isDir, files, digest };
}

/** The leader's path of one declared file. */
export function filePath(root: Root, entry: FileEntry): string {
  return entry.rel === '' ? root.path : path.join(root.path, ...entry.rel.split('/'));
}

export async function bundleOf(spec: JobSpec): Promise<Bundle> {
  const roots: Root[] = [await listRoot('code', spec.source_directory)];
  const inside = path.relative(spec.source_directory, spec.entry_script);
  if (inside.startsWith('..') || path.isAbsolute(inside))
    roots.push(await listRoot('entry', spec.entry_script));
  for (const [name, p] of Object.entries(spec.models)) roots.push(await listRoot(`model:${name}`, p));
  for (const side of spec.side_inputs) roots.push(await listRoot(`side:${side.name}`, side.path));
  return { roots };
}
