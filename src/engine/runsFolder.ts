// Creating folders the user named (a runs folder, the data folder). Node's recursive mkdir
// retries forever where the kernel answers ENOENT for a folder whose parent exists (/proc/x: it
// spins a core), and its errors name no cause a user would recognise; so each missing level is
// created once, in order, and a failure says which folder and why.

import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeFsError, InputError } from './inputError';

/** Creates `dir` (inside `runsDir`) and every missing folder above it, or throws an InputError. */
export async function createRunFolder(runsDir: string, dir: string): Promise<void> {
  const what = 'the runs folder';
  const missing: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    const kind = await stat(at).then(kindOfStat, kindOfError);
    if (kind === 'folder') break;
    if (kind !== 'none') throw refused(what, runsDir, at, kind);
    missing.unshift(at);
    if (path.dirname(at) === at) break;
  }
  for (const folder of missing) {
    try {
      await mkdir(folder);
    } catch (err) {
      // Made meanwhile by another run of the same job: fine.
      const kind = await stat(folder).then(kindOfStat, kindOfError);
      if (kind !== 'folder') throw refused(what, runsDir, folder, err);
    }
  }
}

/** The same, synchronously, for a folder needed at once (the data folder); `what` names it. */
export function createFolderSync(dir: string, what: string): void {
  const missing: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    const kind = kindSync(at);
    if (kind === 'folder') break;
    if (kind !== 'none') throw refused(what, dir, at, kind);
    missing.unshift(at);
    if (path.dirname(at) === at) break;
  }
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (err) {
      if (kindSync(folder) !== 'folder') throw refused(what, dir, folder, err);
    }
  }
}

type Kind = 'folder' | 'other' | 'none' | NodeJS.ErrnoException;

const kindOfStat = (s: { isDirectory(): boolean }): Kind => (s.isDirectory() ? 'folder' : 'other');
// ENOTDIR: a file further up the path, which its own level reports.
const kindOfError = (err: NodeJS.ErrnoException): Kind =>
  err.code === 'ENOENT' || err.code === 'ENOTDIR' ? 'none' : err;

function kindSync(p: string): Kind {
  try {
    return kindOfStat(statSync(p));
  } catch (err) {
    return kindOfError(err as NodeJS.ErrnoException);
  }
}

/** "cannot create the runs folder /x/runs: /x is a file, not a folder" */
function refused(what: string, dir: string, at: string, why: 'other' | unknown): InputError {
  const reason =
    why === 'other'
      ? `${at} is a file, not a folder`
      : `${path.resolve(at) === path.resolve(dir) ? '' : `${at}: `}${describeFsError(why)}`;
  return new InputError(`cannot create ${what} ${dir}: ${reason}`);
}
