// How a run's and a worker's state read on screen: the truth in words a user does not misread.

import type { WorkerInfo } from '../../common/events';

/**
 * The badge of a run: a run whose thresholds let mini-batches fail completed, but not cleanly, so
 * it says so (and is not drawn green). The class is the badge's colour.
 */
export function runBadge(status: string, failedBatches: number): { label: string; cls: string } {
  if (status === 'completed' && failedBatches > 0)
    return { label: 'completed with failures', cls: 'completed-with-failures' };
  return { label: status, cls: status };
}

export function workerStateText(w: WorkerInfo): string {
  switch (w.state) {
    case 'init':
      return 'in init()';
    case 'running':
      return w.batchId !== undefined ? `running mini-batch ${w.batchId}` : 'running';
    case 'stopping':
      return 'stopping';
    case 'exited':
      // The leader's SIGKILL gives -9 like the kernel's out-of-memory killer: name who stopped it.
      if (w.stoppedFor === 'timeout')
        return 'stopped by the leader: a mini-batch exceeded run_invocation_timeout';
      if (w.stoppedFor === 'stop') return 'stopped by the leader as the job ended';
      return w.returnCode !== undefined ? `exited with code ${w.returnCode}` : 'exited';
    default:
      return w.state;
  }
}
