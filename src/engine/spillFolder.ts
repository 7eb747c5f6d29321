// The private folder a run's workers hand their big returns over in (src/runtime/spillLines.ts),
// and the check of what a worker names there. Its launcher removes it when the run ends; a leader
// killed outright (SIGKILL, a power cut) cannot, and leaves the lines of the results that were on
// their way. Each folder's name holds its leader's pid, so the next leader to make one removes
// those of leaders that are gone.

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { WorkerMessage } from '../common/protocol';
import { isRunning } from './runFolderLock';

const PREFIX = 'prs-spill-';
const OWNED = /^prs-spill-(\d+)-/;

/** A launcher's spill folder: made at its first worker, named to that worker, removed at the end. */
export class SpillFolder {
  private dir: string | undefined;
  /** The sweep of other leaders' orphans that making the folder started (settles, never fails). */
  swept: Promise<void> = Promise.resolve();

  /** `enabled`: only a launcher whose leader is on the workers' machine can read their files. */
  constructor(
    private readonly enabled: boolean,
    private readonly parent = os.tmpdir(),
  ) {}

  /** The folder, once a worker has been given it. */
  get path(): string | undefined {
    return this.dir;
  }

  /** Sets the worker's PRS_SPILL_DIR, or removes one this process inherited (not its workers'). */
  give(env: Record<string, string>): void {
    if (!this.enabled) {
      delete env.PRS_SPILL_DIR;
      return;
    }
    if (!this.dir) {
      this.dir = mkdtempSync(path.join(this.parent, `${PREFIX}${process.pid}-`));
      // The sweep reads the whole temporary folder (tens of thousands of names on a machine that
      // has run a while: ~30 ms): never on the way to the first worker.
      this.swept = removeOrphans(this.parent);
    }
    env.PRS_SPILL_DIR = this.dir;
  }

  /** The run is over, its output committed: lines files nobody took (a rejected result) go too. */
  remove(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/**
 * Removes the spill folders in `parent` of this user whose leader process no longer exists. It
 * never fails: a folder it cannot remove stays for the next leader.
 */
export async function removeOrphans(parent = os.tmpdir()): Promise<void> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(OWNED.exec(name)?.[1]);
    if (!pid || pid === process.pid || isRunning(pid)) continue;
    const folder = path.join(parent, name);
    try {
      // Only this user's: another user's folder is theirs to clean (and not ours to read).
      if ((await stat(folder)).uid !== process.getuid?.()) continue;
      await rm(folder, { recursive: true, force: true });
    } catch {
      // gone already, or not ours to remove
    }
  }
}

/**
 * What is wrong with a message's lines files, if anything: each must be a file of the worker's own
 * spill folder, so a worker cannot have the leader copy some other file into the output, nor say it
 * wrote lines it did not.
 */
export function linesFileProblem(message: WorkerMessage, spillDir: string | undefined): string | null {
  if (message.t !== 'results') return null;
  for (const r of message.results) {
    if (r.status !== 'done' || r.linesFile === undefined) continue;
    const file = r.linesFile;
    if (typeof file !== 'string' || !spillDir || path.dirname(file) !== spillDir)
      return `mini-batch ${r.id}'s lines in ${JSON.stringify(file)}, which is not a file of its spill folder${spillDir ? ` (${spillDir})` : ' (it was given none)'}`;
    let isFile = false;
    try {
      isFile = statSync(file).isFile();
    } catch {
      // named below
    }
    if (!isFile) return `mini-batch ${r.id}'s lines in ${file}, which does not exist`;
  }
  return null;
}
