// Names and timings every cluster member agrees on. The timings can be shortened through the
// environment so tests see a lost node in seconds rather than the default's tens of seconds.

export const PREFIX = 'prs';

function seconds(name: string, fallback: number): number {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** How long a node's heartbeat key lives; an agent renews it three times per period. */
export function heartbeatTtlS(): number {
  return seconds('PRS_CLUSTER_HEARTBEAT_TTL_S', 15);
}

/**
 * The leader's pool stops a worker at run_invocation_timeout; its agent does this much later, so it
 * acts only for a leader that cannot reach it (a worker never runs on unsupervised).
 */
export function agentTimeoutGraceS(): number {
  return seconds('PRS_AGENT_TIMEOUT_GRACE_S', 10);
}

export const keys = {
  node: (name: string) => `${PREFIX}:node:${name}`,
  nodePattern: `${PREFIX}:node:*`,
  /** The leader of one run session is alive while this key is. */
  leader: (session: string) => `${PREFIX}:leader:${session}`,
  /** Where a run session's data endpoint is, its token and its declared files (SessionData). */
  data: (session: string) => `${PREFIX}:data:${session}`,
  /** Messages from the leader to one agent's worker sessions. */
  agentInbox: (name: string) => `${PREFIX}:inbox:${name}`,
  /** Messages from every worker of a run session back to its leader. */
  sessionOutbox: (session: string) => `${PREFIX}:outbox:${session}`,
  /** The BullMQ queue through which a leader starts workers on one agent. */
  agentQueue: (name: string) => `agent-${name}`,
  /** The BullMQ queue of one remote worker's mini-batch attempts, in the order its leader sent them. */
  runQueue: (session: string, process: string) => `run-${session}-${process}`,
};

/** Stream lengths kept (approximately): enough for a reader that fell behind through a reconnect. */
export const STREAM_MAXLEN = 100_000;
