// Lists an input's files lazily, in a stable order: byte-wise lexicographic order of the path
// relative to the input root (UTF-8 bytes, "/" as separator).
//
// One directory is read at a time (opendir), its entries sorted, and directories are entered as
// the order reaches them, so the first files come out before the rest of the tree is listed and
// memory is bounded by the largest single directory, not by the tree. Sorting a directory's entries
// by name, with "/" appended to directory names, gives exactly the global order: a path under
// directory "d" compares with any sibling "x" as "d/" does, because names contain no "/".

import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import type { InputSpec } from '../../common/spec';
import { PartitionError, describeFsError, throwIfAborted } from './errors';
import { fsPath, nameFromBytes } from '../../runtime/rawNames';

export interface InputFile {
  /** Absolute path. */
  abs: string;
  /** Path relative to the input root, "/"-separated: what ordering, pattern and partition_format see. */
  rel: string;
}

/**
 * The files of one input, in plan order.
 * - a file: itself (its relative path is its base name);
 * - a folder: every file below it, recursively, filtered by `pattern` (a picomatch glob matched
 *   against the relative path: "*.png" matches the top level only, "**\/*.png" every level; names
 *   starting with "." match only patterns that name them, as in a shell);
 * - a glob (a path that does not exist and has glob characters): the files below the glob's static
 *   base folder whose relative path matches the rest; the base folder is the input root.
 * Symbolic links are followed; a link back to a folder being walked is skipped (it would loop).
 */
export async function* walkInput(input: InputSpec, signal?: AbortSignal): AsyncGenerator<InputFile> {
  const target = input.path;
  const st = await stat(target).catch((err: NodeJS.ErrnoException) => err);
  if (st instanceof Error) {
    const scan = picomatch.scan(toSlashes(target));
    if (st.code !== 'ENOENT' || !scan.isGlob) {
      throw new PartitionError(`input ${describeFsError(st)} (expected a file, a folder or a glob)`, {
        file: target,
      });
    }
    const base = path.resolve(scan.base === '' ? '.' : scan.base);
    const baseSt = await stat(base).catch((err: NodeJS.ErrnoException) => err);
    if (baseSt instanceof Error || !baseSt.isDirectory()) {
      const why = baseSt instanceof Error ? describeFsError(baseSt) : 'is not a folder';
      throw new PartitionError(`${why} (the base folder of the glob input "${target}")`, { file: base });
    }
    // A glob without "**" cannot match deeper than its number of path segments: do not walk there.
    const maxDepth = scan.glob.includes('**') ? Infinity : scan.glob.split('/').length;
    yield* walkDir(base, '', picomatch(scan.glob), maxDepth, new Set(), signal);
    return;
  }
  if (st.isFile()) {
    yield { abs: target, rel: path.basename(target) };
    return;
  }
  if (!st.isDirectory()) throw new PartitionError('input is neither a file nor a folder', { file: target });
  const match = input.pattern ? picomatch(input.pattern) : undefined;
  yield* walkDir(target, '', match, Infinity, new Set(), signal);
}

interface Entry {
  name: string;
  /** The name's bytes, where they are not its UTF-8 (a name that is not UTF-8). */
  raw?: Buffer;
  dir: boolean;
}

/** A character whose UTF-16 order is not its UTF-8 order (surrogates, and U+E000 on). */
const WIDE = /[\uD800-\uFFFF]/;

/**
 * Entries in byte-wise order of their UTF-8 names, "/" after a folder's. Strings compare by UTF-16
 * code units, which is the same order for every character below U+D800: such names (nearly all)
 * sort as strings, sparing a Buffer per name (20,000 of them in a large folder's listing); any
 * other name in the folder sorts the whole folder by its bytes.
 */
function sortEntries(entries: Entry[]): void {
  const key = (e: Entry) => (e.dir ? e.name + '/' : e.name);
  if (!entries.some((e) => e.raw || WIDE.test(e.name))) {
    entries.sort((a, b) => {
      const x = key(a);
      const y = key(b);
      return x < y ? -1 : x > y ? 1 : 0;
    });
    return;
  }
  const bytes = new Map(
    entries.map((e) => [e, e.raw ? Buffer.concat([e.raw, ...(e.dir ? [SLASH] : [])]) : Buffer.from(key(e))]),
  );
  entries.sort((a, b) => Buffer.compare(bytes.get(a)!, bytes.get(b)!));
}

async function* walkDir(
  dirAbs: string,
  relPrefix: string,
  match: ((rel: string) => boolean) | undefined,
  depthLeft: number,
  ancestors: Set<string>,
  signal: AbortSignal | undefined,
): AsyncGenerator<InputFile> {
  throwIfAborted(signal);
  const real = await realpath(fsPath(dirAbs), 'buffer').then(nameFromBytes, () => dirAbs);
  if (ancestors.has(real)) return;
  const entries = await listDir(dirAbs);
  sortEntries(entries);
  ancestors.add(real);
  try {
    for (const e of entries) {
      const abs = path.join(dirAbs, e.name);
      const rel = relPrefix + e.name;
      if (e.dir) {
        if (depthLeft > 1) yield* walkDir(abs, rel + '/', match, depthLeft - 1, ancestors, signal);
      } else if (!match || match(rel)) {
        yield { abs, rel };
      }
    }
  } finally {
    ancestors.delete(real);
  }
}

async function listDir(dirAbs: string): Promise<Entry[]> {
  // One readdir, not an async iteration: a directory's entries are all held for sorting anyway,
  // and awaiting each of them cost more than the listing itself on large folders.
  let dirents: Array<{ name: string; raw?: Buffer; d: Dirent | Dirent<Buffer> }>;
  try {
    const plain = await readdir(fsPath(dirAbs) as string, { withFileTypes: true });
    dirents = plain.map((d) => ({ name: d.name, d }));
    // A name that is not UTF-8 comes back with U+FFFD in it: read the folder again as bytes (only
    // then: Buffer names cost more than strings on large folders).
    if (plain.some((d) => d.name.includes('\ufffd'))) {
      const raw = await readdir(fsPath(dirAbs), { withFileTypes: true, encoding: 'buffer' });
      dirents = raw.map((d) => ({ name: nameFromBytes(d.name), raw: d.name, d }));
    }
  } catch (err) {
    throw new PartitionError(`folder ${describeFsError(err)}`, { file: dirAbs });
  }
  const entries: Entry[] = [];
  for (const { name, raw, d } of dirents) {
    const isDir = d.isSymbolicLink() ? await linkIsDirectory(name, dirAbs) : d.isDirectory();
    if (!isDir && !d.isFile() && !d.isSymbolicLink()) continue; // a socket, a fifo…
    entries.push({ name, ...(raw ? { raw } : {}), dir: isDir });
  }
  return entries;
}

const SLASH = Buffer.from('/');

/** Whether a link leads to a folder (else it is read as a file); a broken one is reported, naming it. */
async function linkIsDirectory(name: string, dirAbs: string): Promise<boolean> {
  const file = path.join(dirAbs, name);
  const st = await stat(fsPath(file)).catch((err: unknown) => {
    throw new PartitionError(describeFsError(err), { file });
  });
  return st.isDirectory();
}

function toSlashes(p: string): string {
  return path.sep === '/' ? p : p.split(path.sep).join('/');
}
