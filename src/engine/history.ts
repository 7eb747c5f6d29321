// The history index: one row per run, across every spec file and runs folder, in an app-level
// SQLite database in the user's data folder. `prs history` and the app's history view read it.
// It is an index, not the record: run.json in the run folder is the truth, so a run folder
// moved or deleted by hand shows up here as "missing", never as an error.
//
// Several hosts may write at once (two `prs run` in two terminals, the app beside them): WAL lets
// readers and one writer work together, and busy_timeout makes a second writer wait its turn
// instead of failing with SQLITE_BUSY. Every write is a single short statement.

import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { RunSummary } from '../common/events';
import { describeFsError, InputError } from './inputError';
import { createFolderSync } from './runsFolder';

export const APP_DIR_NAME = 'parallel-run-studio';
const DB_FILE = 'history.sqlite';
const SCHEMA_VERSION = 1;
/** How long a writer waits for another process's write to finish. */
const BUSY_TIMEOUT_MS = 10_000;

export type HistoryStatus = 'running' | 'interrupted' | RunSummary['status'];

export interface HistoryEntry {
  runId: string;
  name: string;
  specPath: string | null;
  runDir: string;
  /** 'interrupted': recorded as running by a process on this machine that no longer exists. */
  status: HistoryStatus;
  miniBatches: { total: number; succeeded: number; failed: number } | null;
  items: { succeeded: number; failed: number } | null;
  /** ISO time the run first started. */
  startedAt: string;
  /** ISO time it last ended; null while running or interrupted. */
  endedAt: string | null;
  /** The last start's duration (a resumed run: the resume's), null until it ends. */
  durationS: number | null;
  reason: string | null;
  reusedFrom: string | null;
  resumes: number;
  /** Whether the run folder (its run.json) is still where it was recorded. */
  folder: 'present' | 'missing';
}

export interface HistoryFilter {
  name?: string;
  specPath?: string;
  status?: HistoryStatus;
  /** Newest first; default all. */
  limit?: number;
}

export interface RunStart {
  runId: string;
  name: string;
  specPath?: string;
  runDir: string;
  /** ISO time, or epoch ms. */
  startedAt: string | number;
}

/**
 * The user's data folder: PRS_DATA_DIR; else the platform's place for application data:
 * %APPDATA%\parallel-run-studio on Windows, ~/Library/Application Support/parallel-run-studio on
 * macOS, $XDG_DATA_HOME/parallel-run-studio or ~/.local/share/parallel-run-studio elsewhere.
 */
export function dataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.PRS_DATA_DIR) return path.resolve(env.PRS_DATA_DIR);
  const home = os.homedir();
  if (platform === 'win32')
    return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), APP_DIR_NAME);
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', APP_DIR_NAME);
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), APP_DIR_NAME);
}

interface Row {
  run_id: string;
  name: string;
  spec_path: string | null;
  run_dir: string;
  status: string;
  started_at: string;
  ended_at: string | null;
  duration_s: number | null;
  mb_total: number | null;
  mb_succeeded: number | null;
  mb_failed: number | null;
  items_succeeded: number | null;
  items_failed: number | null;
  reason: string | null;
  reused_from: string | null;
  resumes: number;
  host: string;
  pid: number;
}

const END_SQL = `UPDATE runs SET status = @status, ended_at = @endedAt, duration_s = @durationS,
    mb_total = @mbTotal, mb_succeeded = @mbSucceeded, mb_failed = @mbFailed,
    items_succeeded = @itemsSucceeded, items_failed = @itemsFailed, reason = @reason,
    reused_from = @reusedFrom, run_dir = @runDir
  WHERE run_id = @runId`;

export class History {
  private constructor(
    private readonly db: Database.Database,
    /** Where the database is. */
    readonly file: string,
  ) {}

  /** Opens (creating if needed) the history database in `dir` (default: dataDir()). */
  static open(dir: string = dataDir()): History {
    createFolderSync(dir, 'the data folder (PRS_DATA_DIR)');
    const file = path.join(dir, DB_FILE);
    try {
      return History.openFile(file);
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(
        `${file}: ${describeFsError(err)} (expected the index of past runs; move the file away and a new, empty one is made)`,
      );
    }
  }

  private static openFile(file: string): History {
    const db = new Database(file);
    try {
      // Before anything that takes a lock, so that even switching to WAL waits for other writers.
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(`
        CREATE TABLE IF NOT EXISTS runs (
          run_id TEXT PRIMARY KEY, name TEXT NOT NULL, spec_path TEXT, run_dir TEXT NOT NULL,
          status TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, duration_s REAL,
          mb_total INTEGER, mb_succeeded INTEGER, mb_failed INTEGER,
          items_succeeded INTEGER, items_failed INTEGER, reason TEXT, reused_from TEXT,
          resumes INTEGER NOT NULL DEFAULT 0, host TEXT NOT NULL, pid INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at);
        CREATE INDEX IF NOT EXISTS runs_name ON runs (name);
      `);
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version === 0) db.pragma(`user_version = ${SCHEMA_VERSION}`);
      else if (version > SCHEMA_VERSION) {
        throw new InputError(
          `${file} was written by a newer Parallel Run Studio (history schema ${version}; this one reads ${SCHEMA_VERSION})`,
        );
      }
      return new History(db, file);
    } catch (err) {
      if (db.open) db.close();
      throw err;
    }
  }

  /**
   * A run starts, or a recorded one is resumed (same runId): then it is running again, its folder
   * is where it is now (it may have moved), and its first start time is kept.
   */
  recordStart(r: RunStart): void {
    const startedAt = typeof r.startedAt === 'number' ? new Date(r.startedAt).toISOString() : r.startedAt;
    this.db
      .prepare(
        `INSERT INTO runs (run_id, name, spec_path, run_dir, status, started_at, host, pid)
         VALUES (@runId, @name, @specPath, @runDir, 'running', @startedAt, @host, @pid)
         ON CONFLICT (run_id) DO UPDATE SET
           run_dir = excluded.run_dir, status = 'running', host = excluded.host, pid = excluded.pid,
           ended_at = NULL, duration_s = NULL, reason = NULL, resumes = resumes + 1`,
      )
      .run({
        runId: r.runId,
        name: r.name,
        specPath: r.specPath ?? null,
        runDir: path.resolve(r.runDir),
        startedAt,
        host: os.hostname(),
        pid: process.pid,
      });
  }

  /** A run ends (any status). A run never recorded as started is added, so nothing is lost. */
  recordEnd(
    runId: string,
    summary: RunSummary,
    fallback?: Pick<RunStart, 'name' | 'specPath' | 'startedAt'>,
  ): void {
    const endedAt = new Date().toISOString();
    const values = {
      runId,
      status: summary.status,
      endedAt,
      durationS: summary.duration_s,
      mbTotal: summary.mini_batches.total,
      mbSucceeded: summary.mini_batches.succeeded,
      mbFailed: summary.mini_batches.failed,
      itemsSucceeded: summary.items.succeeded,
      itemsFailed: summary.items.failed,
      reason: summary.reason ?? null,
      reusedFrom: summary.reused_from ?? null,
      runDir: path.resolve(summary.run_dir),
    };
    const end = () => this.db.prepare(END_SQL).run(values).changes;
    if (end() === 0) {
      this.recordStart({
        runId,
        name: fallback?.name ?? path.basename(path.dirname(summary.run_dir)),
        specPath: fallback?.specPath,
        runDir: summary.run_dir,
        startedAt: fallback?.startedAt ?? Date.now() - summary.duration_s * 1000,
      });
      end();
    }
  }

  /** Newest first. */
  list(filter: HistoryFilter = {}): HistoryEntry[] {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    if (filter.name) {
      where.push('name = @name');
      params.name = filter.name;
    }
    if (filter.specPath) {
      where.push('spec_path = @specPath');
      params.specPath = path.resolve(filter.specPath);
    }
    // 'running' and 'interrupted' are told apart only when reading: filter those afterwards.
    const derived = filter.status === 'running' || filter.status === 'interrupted';
    if (filter.status && !derived) {
      where.push('status = @status');
      params.status = filter.status;
    }
    if (derived) where.push("status = 'running'");
    let sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, run_id DESC`;
    if (filter.limit !== undefined && !derived) sql += ` LIMIT ${Math.max(0, Math.floor(filter.limit))}`;
    let entries = (this.db.prepare(sql).all(params) as Row[]).map(toEntry);
    if (derived) {
      entries = entries.filter((e) => e.status === filter.status);
      if (filter.limit !== undefined) entries = entries.slice(0, filter.limit);
    }
    return entries;
  }

  /** Forgets the runs recorded in `runDir` (its folder was deleted): nothing is left to reopen. */
  forget(runDir: string): number {
    return this.db.prepare('DELETE FROM runs WHERE run_dir = ?').run(path.resolve(runDir)).changes;
  }

  close(): void {
    this.db.close();
  }
}

function toEntry(r: Row): HistoryEntry {
  let status = r.status as HistoryStatus;
  // A run whose process is gone without recording its end (killed, crashed, machine restarted)
  // can only be told apart on the machine that ran it.
  if (status === 'running' && r.host === os.hostname() && !processAlive(r.pid)) status = 'interrupted';
  return {
    runId: r.run_id,
    name: r.name,
    specPath: r.spec_path,
    runDir: r.run_dir,
    status,
    miniBatches:
      r.mb_total === null
        ? null
        : { total: r.mb_total, succeeded: r.mb_succeeded ?? 0, failed: r.mb_failed ?? 0 },
    items: r.items_succeeded === null ? null : { succeeded: r.items_succeeded, failed: r.items_failed ?? 0 },
    startedAt: r.started_at,
    endedAt: r.ended_at,
    durationS: r.duration_s,
    reason: r.reason,
    reusedFrom: r.reused_from,
    resumes: r.resumes,
    folder:
      existsSync(path.join(r.run_dir, 'run.json')) || existsSync(path.join(r.run_dir, 'pipeline.json'))
        ? 'present'
        : 'missing',
  };
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---- prs history ----------------------------------------------------------------------------

/** "2026-11-25 18:02" in local time. */
function localMinute(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function duration(s: number | null): string {
  if (s === null) return '-';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
}

/** The table `prs history` prints: one line per run, newest first. */
export function formatHistory(entries: HistoryEntry[]): string {
  if (entries.length === 0) return 'No runs recorded yet. `prs run <spec>` adds one.\n';
  const header = ['STARTED', 'NAME', 'STATUS', 'MINI-BATCHES', 'ITEMS', 'DURATION', 'RUN FOLDER'];
  const rows = entries.map((e) => [
    localMinute(e.startedAt),
    e.name,
    e.status + (e.reusedFrom ? ' (reused)' : '') + (e.resumes > 0 ? ` (resumed ${e.resumes}x)` : ''),
    e.miniBatches
      ? `${e.miniBatches.succeeded}/${e.miniBatches.total}` +
        (e.miniBatches.failed > 0 ? ` (${e.miniBatches.failed} failed)` : '')
      : '-',
    e.items ? `${e.items.succeeded}` + (e.items.failed > 0 ? ` (${e.items.failed} failed)` : '') : '-',
    duration(e.durationS),
    e.runDir + (e.folder === 'missing' ? '  [folder missing: moved or deleted]' : ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** `prs history --json`: one line, an array of HistoryEntry (camelCase keys, as above). */
export function formatHistoryJson(entries: HistoryEntry[]): string {
  return JSON.stringify(entries) + '\n';
}
