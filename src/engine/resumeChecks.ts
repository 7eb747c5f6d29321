// What `prs resume` checks before it touches a run folder: a run.json and a journal it can read.
// Either one damaged (a disk error, an editor, a copy cut short) is refused naming the file, before
// a lock is taken or a worker starts.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describeFsError, InputError } from './inputError';
import { Journal } from './journal';
import type { RunRecord } from './runRecord';

/** run.json as prs wrote it, or an InputError that names the file. */
export async function readRunRecord(file: string): Promise<RunRecord> {
  let record: unknown;
  try {
    record = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const why = err instanceof SyntaxError ? `not valid JSON (${err.message})` : describeFsError(err);
    throw new InputError(`${file}: ${why} (expected the run record prs writes; the run cannot be resumed)`);
  }
  const r = record as Partial<RunRecord> | null;
  if (typeof r !== 'object' || r === null || typeof r.runId !== 'string' || typeof r.spec !== 'object') {
    throw new InputError(`${file}: not a run record (expected the runId, spec and resumes prs writes)`);
  }
  r.resumes ??= [];
  return r as RunRecord;
}

/** A resume reads the journal first thing: a damaged one is refused before anything starts. */
export function checkJournal(file: string): void {
  if (!existsSync(file)) return;
  try {
    const journal = new Journal(file);
    try {
      journal.state();
    } finally {
      journal.close();
    }
  } catch (err) {
    throw new InputError(
      `${file}: ${describeFsError(err)} (expected the run's SQLite journal of finished mini-batches; without it the run cannot be resumed: start the job again with prs run)`,
    );
  }
}
