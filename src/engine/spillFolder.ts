// The private folder a run's workers hand their big returns over in (src/runtime/spillLines.ts).
// Its launcher removes it when the run ends; a leader killed outright (SIGKILL, a power cut) cannot,
// and leaves the lines of the results that were on their way. Each folder's name holds its leader's
// pid, so the next leader to make one removes those of leaders that are gone.

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PREFIX = 'prs-spill-';
const OWNED = /^prs-spill-(\d+)-/;

/** A new spill folder (mode 0700) in `parent`, after removing those whose leader is gone. */
export function makeSpillFolder(parent = os.tmpdir()): string {
  removeOrphans(parent);
  return mkdtempSync(path.join(parent, `${PREFIX}${process.pid}-`));
}

/** Spill folders of this user whose leader process no longer exists. */
export function removeOrphans(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(OWNED.exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    const folder = path.join(parent, name);
    try {
      // Only this user's: another user's folder is theirs to clean (and not ours to read).
      if (statSync(folder).uid !== process.getuid?.()) continue;
      rmSync(folder, { recursive: true, force: true });
    } catch {
      // gone already, or not ours to remove
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, as another user's process.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
