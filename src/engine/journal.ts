// The run's journal: one row per mini-batch attempt, in SQLite (WAL). A mini-batch counts as done
// only once its output lines are on disk (fdatasync'd) and its row is committed, and the row
// records where the output file ended after them; so after a crash at any moment, resuming
// truncates the output to the last committed end and re-runs exactly what is not committed.

import Database from 'better-sqlite3';
import type { AttemptStatus } from '../common/events';

export interface AttemptRow {
  mini_batch_id: number;
  attempt: number;
  status: AttemptStatus;
  node_id: string;
  process_name: string;
  pid: number | null;
  items_total: number;
  items_succeeded: number;
  items_failed: number;
  start_time: number;
  elapsed_s: number;
  process_time_s: number;
  run_time_s: number;
  error_type: string | null;
  error_message: string | null;
  traceback: string | null;
  /** Byte length of the output file once this attempt's lines were written (succeeded attempts). */
  output_end: number | null;
}

export interface JournalState {
  /** Succeeded mini-batches: id -> items succeeded/failed. */
  succeeded: Map<number, { itemsSucceeded: number; itemsFailed: number }>;
  /** Attempts used so far by mini-batches that have not succeeded. */
  failedAttempts: Map<number, number>;
  /** The output file's committed length. */
  outputEnd: number;
  attemptRows: number;
}

const COLUMNS = [
  'mini_batch_id',
  'attempt',
  'status',
  'node_id',
  'process_name',
  'pid',
  'items_total',
  'items_succeeded',
  'items_failed',
  'start_time',
  'elapsed_s',
  'process_time_s',
  'run_time_s',
  'error_type',
  'error_message',
  'traceback',
  'output_end',
] as const;

const CHUNK = 32;

export class Journal {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly insertChunk: Database.Statement;
  private readonly insertMany: (rows: AttemptRow[]) => void;

  constructor(readonly file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a crash of this process; a power loss may drop the last
    // commits, which resume then re-runs (their output is truncated away first).
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS attempts (
        mini_batch_id INTEGER NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL,
        node_id TEXT NOT NULL, process_name TEXT NOT NULL, pid INTEGER,
        items_total INTEGER NOT NULL, items_succeeded INTEGER NOT NULL, items_failed INTEGER NOT NULL,
        start_time INTEGER NOT NULL, elapsed_s REAL NOT NULL, process_time_s REAL NOT NULL, run_time_s REAL NOT NULL,
        error_type TEXT, error_message TEXT, traceback TEXT, output_end INTEGER,
        PRIMARY KEY (mini_batch_id, attempt));
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    const values = `(${COLUMNS.map(() => '?').join(',')})`;
    const insertSql = (rows: number) =>
      `INSERT OR REPLACE INTO attempts (${COLUMNS.join(',')}) VALUES ${Array(rows).fill(values).join(',')}`;
    this.insert = this.db.prepare(insertSql(1));
    // Rows go in by CHUNK per statement with positional parameters: binding is most of the cost
    // of a small insert, and this keeps the journal well under the leader's per-mini-batch budget.
    this.insertChunk = this.db.prepare(insertSql(CHUNK));
    this.insertMany = this.db.transaction((rows: AttemptRow[]) => {
      let i = 0;
      for (; i + CHUNK <= rows.length; i += CHUNK) {
        const params: unknown[] = [];
        for (let j = i; j < i + CHUNK; j++) for (const c of COLUMNS) params.push(rows[j]![c]);
        this.insertChunk.run(params);
      }
      for (; i < rows.length; i++) this.insert.run(COLUMNS.map((c) => rows[i]![c]));
    });
  }

  /** One transaction for a group of attempts. */
  commit(rows: AttemptRow[]): void {
    if (rows.length > 0) this.insertMany(rows);
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }

  getMeta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      { value: string } | undefined;
    return row?.value;
  }

  state(): JournalState {
    const succeeded = new Map<number, { itemsSucceeded: number; itemsFailed: number }>();
    for (const r of this.db
      .prepare(
        "SELECT mini_batch_id id, items_succeeded s, items_failed f FROM attempts WHERE status = 'succeeded'",
      )
      .iterate() as Iterable<{ id: number; s: number; f: number }>) {
      succeeded.set(r.id, { itemsSucceeded: r.s, itemsFailed: r.f });
    }
    const failedAttempts = new Map<number, number>();
    for (const r of this.db
      .prepare(
        "SELECT mini_batch_id id, COUNT(*) n FROM attempts WHERE status != 'succeeded' GROUP BY mini_batch_id",
      )
      .iterate() as Iterable<{ id: number; n: number }>) {
      if (!succeeded.has(r.id)) failedAttempts.set(r.id, r.n);
    }
    const end = this.db.prepare('SELECT MAX(output_end) e FROM attempts').get() as { e: number | null };
    const count = this.db.prepare('SELECT COUNT(*) n FROM attempts').get() as { n: number };
    return { succeeded, failedAttempts, outputEnd: end.e ?? 0, attemptRows: count.n };
  }

  /** Every attempt, in order: for the app's mini-batch table of a finished run. */
  attempts(): AttemptRow[] {
    return this.db.prepare('SELECT * FROM attempts ORDER BY mini_batch_id, attempt').all() as AttemptRow[];
  }

  /** Every attempt in commit order, one at a time (a run may have millions): rebuilds the CSV. */
  eachAttempt(): IterableIterator<AttemptRow> {
    return this.db.prepare('SELECT * FROM attempts ORDER BY rowid').iterate() as IterableIterator<AttemptRow>;
  }

  close(): void {
    this.db.close();
  }
}
