// What travels between a leader and the agents' worker sessions: the BullMQ jobs (worker starts,
// mini-batch attempts) and the messages beside them.
// Redis streams carry it both ways: they survive a reconnect (a reader continues from the last id
// it saw) and a Redis restart on its AOF, which pub/sub would not.

import type { NodeSample, ProcessSample } from '../../common/events';
import type { LeaderMessage, WorkerConfig, WorkerMessage } from '../../common/protocol';
import type { ExitInfo } from '../launcher';
import type { MiniBatch } from '../../common/minibatch';
import type { Bundle } from './manifest';

/** A BullMQ job on an agent's queue: start one worker process for a leader's run session. */
export interface StartWorker {
  session: string;
  process: string;
  env: Record<string, string>;
  cwd: string;
  config?: WorkerConfig;
  /** The job's run_invocation_timeout: the agent enforces it too, for a leader it cannot hear. */
  runInvocationTimeoutS?: number;
  /** The job's resource_monitor_interval: the agent samples its machine and this session's workers. */
  resourceMonitorIntervalS?: number;
}

/**
 * A BullMQ job on a remote worker's run queue: one mini-batch attempt. `seq` is the leader's order
 * of sends to that worker, which the agent keeps when it forwards them (the worker's queue and
 * the leader's LocalPool expect that order).
 */
export interface RunAttempt {
  seq: number;
  batch: MiniBatch;
  /** Its input files by the leader's path (a run with a data endpoint). */
  d?: Record<string, InputStamp>;
}

/** An input file of a mini-batch as the leader sees it, and the id the data endpoint serves it by. */
export interface InputStamp {
  id: string;
  size: number;
  mtimeMs: number;
}

/** What an agent needs to fetch a run session's files (the Redis key `keys.data(session)`). */
export interface SessionData {
  url: string;
  token: string;
  bundle: Bundle;
}

/** Leader → agent inbox. */
export type ToAgent =
  /** `d`: for a 'run' message, its input files by the leader's path. */
  | { s: string; p: string; m: LeaderMessage; d?: Record<string, InputStamp> }
  | { s: string; p: string; kill: NodeJS.Signals };

/** Agent → a session's outbox. */
export type FromAgent =
  | { p: string; k: 'started'; node: string; pid: number | null }
  | { p: string; k: 'msg'; m: WorkerMessage }
  | { p: string; k: 'out' | 'err'; text: string }
  | { p: string; k: 'exit'; exit: ExitInfo }
  | AgentSamples;

/**
 * One resource sample of an agent's machine and of its workers of the session (about once a
 * second); `listing` (its process listing) marks a perf-file check, every resource_monitor_interval.
 */
export interface AgentSamples {
  k: 'samples';
  agent: string;
  node: NodeSample;
  processes: ProcessSample[];
  listing?: string;
}

/** Streams hold flat field lists; one JSON field keeps the messages typed. */
export function encode(message: ToAgent | FromAgent): [string, string] {
  return ['j', JSON.stringify(message)];
}

export function decode<T>(fields: string[]): T | null {
  const i = fields.indexOf('j');
  if (i < 0 || i + 1 >= fields.length) return null;
  try {
    return JSON.parse(fields[i + 1]!) as T;
  } catch {
    return null;
  }
}

/** The BullMQ job id of a worker start: deterministic, so adding it twice starts one worker (BullMQ refuses ":" in ids). */
export function startJobId(session: string, process: string): string {
  return `${session}.${process}`;
}

/** The BullMQ job id of one mini-batch attempt: re-adding it is a no-op, so an attempt is delivered once. */
export function attemptJobId(session: string, batchId: number, attempt: number): string {
  return `${session}.${batchId}.${attempt}`;
}
