// Creating a run's folder under the runs folder. Node's recursive mkdir retries forever where
// the kernel answers ENOENT for a folder whose parent exists (/proc/x: it spins a core), and its
// errors name no cause a user would recognise; so each missing level is created once, in order,
// and a failure says which folder and why.

import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeFsError, InputError } from './inputError';

/** Creates `dir` (inside `runsDir`) and every missing folder above it, or throws an InputError. */
export async function createRunFolder(runsDir: string, dir: string): Promise<void> {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    const kind = await stat(at).then(
      (s) => (s.isDirectory() ? 'folder' : 'other'),
      (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'ENOTDIR' ? 'none' : err),
    );
    if (kind === 'folder') break;
    if (kind === 'other') throw refused(runsDir, `${at} is a file, not a folder`);
    if (kind !== 'none') throw refused(runsDir, `${at}: ${describeFsError(kind)}`);
    missing.unshift(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const folder of missing) {
    try {
      await mkdir(folder);
    } catch (err) {
      // Someone else made it meanwhile (two runs of one job starting together): fine if a folder.
      const exists = (err as NodeJS.ErrnoException).code === 'EEXIST';
      if (
        exists &&
        (await stat(folder).then(
          (s) => s.isDirectory(),
          () => false,
        ))
      )
        continue;
      throw refused(
        runsDir,
        folder === runsDir ? describeFsError(err) : `${folder}: ${describeFsError(err)}`,
      );
    }
  }
}

function refused(runsDir: string, reason: string): InputError {
  return new InputError(`cannot create the runs folder ${runsDir}: ${reason}`);
}
