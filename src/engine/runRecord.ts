// run.json's shape: written by run.ts, read back by resume, the app and reuse.

import type { RunSummary } from '../common/events';
import type { JobSpec } from '../common/spec';

/** What run.json holds: enough to reopen, report on and resume the run from its folder alone. */
export interface RunRecord {
  runId: string;
  name: string;
  spec: JobSpec;
  /** What allow_reuse compares: script, settings and inputs (src/engine/reuse.ts). */
  fingerprint?: string;
  startedAt: string;
  environment: Record<string, unknown>;
  resumes: Array<{ at: string; retryFailed: boolean }>;
  summary?: RunSummary;
  /** Set when the run is a node of a pipeline run (the folder two levels up). */
  pipelineNode?: string;
}
