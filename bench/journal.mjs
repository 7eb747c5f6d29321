// Issue 4: the journal's cost. Rows per second committed through the same grouped path a run uses
// (output lines appended and fdatasync'd, then one SQLite transaction per group), and the share of a
// whole trivial run that goes to it, measured from a real `prs run` of 20,000 mini-batches.
import path from 'node:path';
import { ROOT } from './lib.mjs';

export default async function journal() {
  const { build } = await import('esbuild');
  const out = path.join(ROOT, 'out', 'bench', 'journal-rate.mjs');
  await build({
    stdin: {
      contents: `
        import { mkdtempSync } from 'node:fs';
        import os from 'node:os';
        import path from 'node:path';
        import { Journal } from './src/engine/journal';
        import { CommitLog } from './src/engine/commitLog';
        import { LogFile } from './src/engine/logTree';
        export async function measure(rows, group) {
          const dir = mkdtempSync(path.join(os.tmpdir(), 'prs-journal-'));
          const journal = new Journal(path.join(dir, 'journal.sqlite'));
          const csv = new LogFile(path.join(dir, 'processed.csv'));
          const log = await CommitLog.open(journal, csv, path.join(dir, 'out.txt'), 0);
          const t0 = performance.now();
          for (let i = 0; i < rows; i++) {
            log.add({ row: { mini_batch_id: i, attempt: 1, status: 'succeeded', node_id: '0', process_name: 'process000', pid: 1,
              items_total: 1, items_succeeded: 1, items_failed: 0, start_time: Date.now(), elapsed_s: 0.001, process_time_s: 0.001,
              run_time_s: 0.001, error_type: null, error_message: null, traceback: null, output_end: null }, lines: ['item ' + i] });
            if (i % group === group - 1) await log.flush();
          }
          await log.close();
          const seconds = (performance.now() - t0) / 1000;
          journal.close();
          await csv.close();
          return { rows, seconds };
        }`,
      resolveDir: ROOT,
      loader: 'ts',
    },
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  });
  const { measure } = await import(out);
  for (const group of [1, 100, 1000]) {
    const { rows, seconds } = await measure(group === 1 ? 2000 : 50_000, group);
    console.log(
      `journal: groups of ${String(group).padStart(4)}: ${(rows / seconds).toFixed(0).padStart(8)} rows/s committed (output + fdatasync + transaction + CSV)`,
    );
  }
}
