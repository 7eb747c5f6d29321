// Which attempt runs next: retries first, then the plan's buffer, read lazily from the plan as
// workers need work. Also what a resumed run already did, attempt numbering, and the queue depth.

import type { MiniBatch } from '../../common/minibatch';
import type { JobSpec } from '../../common/spec';
import type { JournalState } from '../journal';
import type { AttemptOrder, WorkSource } from './nodePool';

/**
 * Mini-batches a worker holds at once: one running, the rest ready, so a round trip to the leader
 * never idles it. Slow mini-batches need only one in reserve; fast ones need enough to cover about
 * QUEUE_MS of work, since every round trip costs the same whatever the mini-batch.
 */
const MIN_DEPTH = 2;
export const MAX_DEPTH = 64;
const QUEUE_MS = 10;

export interface SchedulerOptions {
  spec: JobSpec;
  plan: AsyncIterator<MiniBatch>;
  /** Worker slots of every node together: how much of the plan to keep read ahead. */
  slots: number;
  resumed?: JournalState;
  retryFailed?: boolean;
}

export interface PlanEvents {
  /** Every 1000 mini-batches and once at the end. */
  onPlanned(planned: number, done: boolean): void;
  /** A resumed mini-batch that already succeeded or used its attempts: counts, not work. */
  onResumedBatch(verdict: 'succeeded' | 'short' | 'used-up', batch: MiniBatch): void;
  onPlanError(err: Error): void;
  /** New work is in the buffer: the pools may take it. */
  onWork(): void;
}

export class Scheduler implements WorkSource {
  private readonly retries: AttemptOrder[] = [];
  private readonly buffer: MiniBatch[] = [];
  private planning = false;
  private stopped = false;
  planDone = false;
  planned = 0;
  /** Attempts taken and not yet ended (by a result, a failure, or a return unstarted). */
  outstanding = 0;
  /** Attempts used by mini-batches that have not finished; bounded by what is in flight. */
  private readonly attemptsUsed = new Map<number, number>();
  /** resume --retry-failed: attempts of the earlier runs, not counted against run_max_try. */
  private readonly attemptBase = new Map<number, number>();
  /** Moving average of mini-batch durations, for the queue depth. */
  private avgBatchMs: number | null = null;

  constructor(
    private readonly o: SchedulerOptions,
    private readonly events: PlanEvents,
  ) {}

  take(): AttemptOrder | undefined {
    const order = this.retries.shift() ?? this.fromBuffer();
    if (!order) return undefined;
    this.attemptsUsed.set(order.batch.id, order.attempt);
    this.outstanding++;
    return order;
  }

  private fromBuffer(): AttemptOrder | undefined {
    const batch = this.buffer.shift();
    if (this.buffer.length < this.o.slots * MAX_DEPTH) void this.fill();
    if (!batch) return undefined;
    return { batch, attempt: (this.attemptsUsed.get(batch.id) ?? 0) + 1 };
  }

  depth(): number {
    if (this.avgBatchMs === null) return MIN_DEPTH;
    return Math.min(MAX_DEPTH, Math.max(MIN_DEPTH, Math.ceil(QUEUE_MS / Math.max(this.avgBatchMs, 0.01))));
  }

  /** An attempt ended, by run()'s report or without one. */
  ended(): void {
    this.outstanding--;
  }

  /** How long a reported attempt took: the queue depth follows the average. */
  observe(elapsedMs: number): void {
    this.avgBatchMs = this.avgBatchMs === null ? elapsedMs : this.avgBatchMs * 0.9 + elapsedMs * 0.1;
  }

  /** The mini-batch is over (succeeded, or failed for good): its attempt count is forgotten. */
  settled(batchId: number): void {
    this.attemptsUsed.delete(batchId);
  }

  /**
   * An attempt failed. Returns whether it may run again (within run_max_try, not counting a
   * resume --retry-failed's earlier attempts); if so, its next attempt is queued first.
   */
  failed(order: AttemptOrder): boolean {
    const used = order.attempt - (this.attemptBase.get(order.batch.id) ?? 0);
    if (used < this.o.spec.run_max_try) {
      this.retries.push({ batch: order.batch, attempt: order.attempt + 1 });
      return true;
    }
    this.attemptsUsed.delete(order.batch.id);
    return false;
  }

  /** Attempts a worker held without starting them: first in line again, attempts unused. */
  returned(orders: AttemptOrder[]): void {
    this.outstanding -= orders.length;
    for (const order of [...orders].reverse()) this.retries.unshift(order);
  }

  /** Anything left to run or still running. */
  hasWork(): boolean {
    return this.retries.length > 0 || this.buffer.length > 0 || !this.planDone || this.outstanding > 0;
  }

  /** Nothing waits for a worker (what runs may still fail and come back). */
  queueEmpty(): boolean {
    return this.retries.length === 0 && this.buffer.length === 0;
  }

  stop(): void {
    this.stopped = true;
  }

  async fill(): Promise<void> {
    if (this.planning || this.planDone) return;
    this.planning = true;
    const target = this.o.slots * MAX_DEPTH * 2;
    const { resumed, spec } = this.o;
    try {
      while (!this.stopped && this.buffer.length < target) {
        const next = await this.o.plan.next();
        if (next.done) {
          this.planDone = true;
          this.events.onPlanned(this.planned, true);
          break;
        }
        const batch = next.value;
        this.planned++;
        const done = resumed?.succeeded.get(batch.id);
        if (done) {
          // A short return committed its lines but failed (items_failed > 0 only then).
          const shortFails = spec.error_threshold !== -1;
          this.events.onResumedBatch(done.itemsFailed > 0 && shortFails ? 'short' : 'succeeded', batch);
          continue;
        }
        const used = resumed?.failedAttempts.get(batch.id) ?? 0;
        if (used >= spec.run_max_try && !this.o.retryFailed) {
          // Used up in the earlier run: still failed, counted against the thresholds again.
          this.events.onResumedBatch('used-up', batch);
          continue;
        }
        // Attempt numbers continue after the earlier ones even with --retry-failed (which grants
        // run_max_try fresh attempts): a reused number would replace that attempt's journal row.
        if (used > 0) this.attemptsUsed.set(batch.id, used);
        if (used > 0 && this.o.retryFailed) this.attemptBase.set(batch.id, used);
        this.buffer.push(batch);
        if (this.planned % 1000 === 0) this.events.onPlanned(this.planned, false);
      }
    } catch (err) {
      this.events.onPlanError(err as Error);
    } finally {
      this.planning = false;
    }
    this.events.onWork();
  }
}
