// Every next step for a run, where the user is (the run view's header, a history row): run it
// again or reuse its results, resume it, retry its failed mini-batches, edit its spec in the
// wizard, or cancel it (after asking).

import { useState } from 'react';
import { useStore, type RunAction } from '../store';

export interface RunActionsProps {
  runId: string;
  runDir: string;
  status: string;
  live: boolean;
  /** Recorded as running by a process that is gone, or a folder without a summary: resumable. */
  interrupted: boolean;
  failedBatches: number;
  specPath: string | null;
  /** False when the job has allow_reuse: false (reusing would run it anyway). */
  allowReuse: boolean;
  disabled?: boolean;
  /** A v2 pipeline run: `prs resume` reruns every node that did not complete, failed ones included. */
  pipeline?: boolean;
}

export function RunActions(p: RunActionsProps) {
  const [message, setMessage] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const idle = !p.live && !p.disabled && !busy;

  const act = (action: RunAction) => {
    setBusy(true);
    setMessage(null);
    useStore
      .getState()
      .runAction(action, p.runDir)
      .catch((err: unknown) => setMessage(err instanceof Error ? err.message : String(err)))
      .finally(() => setBusy(false));
  };

  if (p.live) {
    return (
      <span className="run-actions">
        {confirming ? (
          <span role="group" aria-label="Confirm cancel" data-testid="confirm-cancel">
            Cancel this run? Mini-batches in progress stop.{' '}
            <button
              className="danger"
              autoFocus
              onClick={() => {
                setConfirming(false);
                useStore
                  .getState()
                  .request('cancelRun', { runId: p.runId })
                  .catch((err: unknown) => setMessage(err instanceof Error ? err.message : String(err)));
              }}
            >
              Yes, cancel the run
            </button>{' '}
            <button onClick={() => setConfirming(false)}>Keep running</button>
          </span>
        ) : (
          <button className="danger" onClick={() => setConfirming(true)}>
            Cancel
          </button>
        )}
      </span>
    );
  }
  const resumable = p.interrupted || p.status === 'cancelled' || (!!p.pipeline && p.status !== 'completed');
  const retryable = !p.pipeline && (p.failedBatches > 0 || (p.status === 'failed' && !p.interrupted));
  return (
    <span className="run-actions">
      <button disabled={!idle} onClick={() => act('run-again')} title="Run the job now, whatever ran before">
        Run again
      </button>
      {p.status === 'completed' && p.allowReuse && (
        <button
          disabled={!idle}
          onClick={() => act('reuse')}
          title="allow_reuse: if the entry script, settings and inputs are unchanged, take this run's results instead of running"
        >
          Reuse results
        </button>
      )}
      {resumable && (
        <button disabled={!idle} onClick={() => act('resume')} title="Run what did not run yet (prs resume)">
          Resume
        </button>
      )}
      {retryable && (
        <button
          disabled={!idle}
          onClick={() => act('retry-failed')}
          title="Run the failed mini-batches again, with fresh attempts (prs resume --retry-failed)"
        >
          Retry failed
        </button>
      )}
      <button
        disabled={!p.specPath || p.disabled}
        title={p.specPath ? `Open ${p.specPath} in the wizard` : 'The run has no spec file to edit'}
        onClick={() => p.specPath && useStore.getState().navigate({ kind: 'wizard', specPath: p.specPath })}
      >
        Edit in wizard
      </button>
      {message && (
        <span className="bad-text" role="alert">
          {message}
        </span>
      )}
    </span>
  );
}
