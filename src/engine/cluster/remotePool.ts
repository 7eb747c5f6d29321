// A node of the job on a cluster agent. The local pool's supervision (queues, run_invocation_timeout,
// replacements, logs) works unchanged over remote workers; this adds what only a cluster knows:
// the node's agent was lost. Then the pool says so once, and the attempts its workers were running
// fail as 'node-lost' (retried elsewhere within run_max_try) instead of as crashes of the script.

import type { NodePool, PoolEvent, WorkSource } from '../leader';

export class RemotePool implements NodePool {
  private readonly listeners: Array<(event: PoolEvent) => void> = [];
  /** Workers whose agent was lost, with why: their failed attempts say it. */
  private readonly lostWorkers = new Map<string, string>();

  constructor(private readonly inner: NodePool) {
    inner.on((event) => this.forward(event));
  }

  get nodeId(): string {
    return this.inner.nodeId;
  }
  get capacity(): number {
    return this.inner.capacity;
  }

  /** Called by the cluster before it ends the workers of a lost agent. */
  agentLost(reason: string, workers: string[]): void {
    for (const w of workers) this.lostWorkers.set(w, reason);
    this.emit({ type: 'node-lost', reason });
  }

  private forward(event: PoolEvent): void {
    if (event.type === 'attempt-failed' && this.lostWorkers.has(event.worker)) {
      const reason = this.lostWorkers.get(event.worker)!;
      // Its -9 is the leader's own account of a lost node, not a signal on that machine: no
      // finding about its memory (its agent's last samples predate the loss).
      const { finding: _signal9, ...failed } = event;
      return this.emit({
        ...failed,
        status: 'node-lost',
        error: {
          type: 'NodeLost',
          message: `${event.worker} was running mini-batch ${event.order.batch.id} on node ${this.nodeId} when it was lost: ${reason}.`,
        },
      });
    }
    if (event.type === 'worker-exit') this.lostWorkers.delete(event.worker);
    this.emit(event);
  }

  private emit(event: PoolEvent): void {
    for (const l of this.listeners) l(event);
  }

  on(listener: (event: PoolEvent) => void): void {
    this.listeners.push(listener);
  }
  start(work: WorkSource, options?: { holdInit?: boolean }): void {
    this.inner.start(work, options);
  }
  releaseInit(): void {
    this.inner.releaseInit();
  }
  replace(): void {
    this.inner.replace();
  }
  offer(): void {
    this.inner.offer();
  }
  starting(): Array<{ worker: string; since: number }> {
    return this.inner.starting();
  }
  size(): number {
    return this.inner.size();
  }
  tick(now: number): void {
    this.inner.tick(now);
  }
  drain(): void {
    this.inner.drain();
  }
  stop(how: 'cancel' | 'kill'): void {
    this.inner.stop(how);
  }
  closed(): Promise<void> {
    return this.inner.closed();
  }
}
