// The --json line of `prs run` and `prs resume` (contracts.md §2): the last line on stdout, whatever
// the exit. One writer for jobs and pipelines alike, so the promised keys cannot drift apart.

import type { RunSummary } from '../common/events';

/** The --json object of contracts.md §2, key for key. */
export function jsonSummary(s: RunSummary) {
  return {
    status: s.status,
    exit_code: s.exit_code,
    run_dir: s.run_dir,
    output_file: s.output_file,
    mini_batches: s.mini_batches,
    items: s.items,
    duration_s: s.duration_s,
    ...(s.reason ? { reason: s.reason } : {}),
    ...(s.reused_from ? { reused_from: s.reused_from } : {}),
  };
}
