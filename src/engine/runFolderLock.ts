// One process at a time works in a run folder: two `prs resume` of one folder would both run the
// job. The lock file names its holder (pid and, on Linux, the kernel's start time of that pid); a
// holder that is gone is taken over. Gone includes a zombie: a killed leader whose parent has not
// reaped it yet still answers kill(pid, 0), which made `prs resume` right after a crash refuse
// the folder until the zombie's parent (a container's init) got round to it. The start time
// guards against a new process that was given the dead holder's pid.

import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from './inputError';

/** Takes the lock of `runDir`; resolves to its release. */
export async function lockRunFolder(runDir: string): Promise<() => Promise<void>> {
  const lock = path.join(runDir, '.lock');
  const me = `${process.pid} ${startTime(process.pid) ?? ''}`.trim();
  for (;;) {
    try {
      await writeFile(lock, me, { flag: 'wx' });
      return () => rm(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const [pidText, started] = (await readFile(lock, 'utf8').catch(() => '')).trim().split(' ');
    const holder = Number(pidText);
    if (holder > 0 && holder !== process.pid && isRunning(holder, started)) {
      throw new InputError(`${runDir} is in use by process ${holder} (a run or resume of it is still going)`);
    }
    await rm(lock, { force: true });
  }
}

/** Whether `pid` is a live process, and the same one that took the lock when `started` is known. */
export function isRunning(pid: number, started?: string): boolean {
  const stat = procStat(pid);
  if (stat) {
    // Z: a zombie, X: dead. Either way it holds nothing any more.
    if (stat.state === 'Z' || stat.state === 'X') return false;
    return !started || stat.startTime === started;
  }
  try {
    // No /proc to ask (not Linux): a signalable process is taken to be the holder.
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function startTime(pid: number): string | undefined {
  return procStat(pid)?.startTime;
}

/** State and start time (clock ticks since boot) from /proc/<pid>/stat; undefined off Linux or when gone. */
function procStat(pid: number): { state: string; startTime: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields from 3 on: state is field 3, starttime field 22.
  return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
}
