// Flow control of terminal output towards a UI (design.md: xterm.js drops input beyond its buffer,
// so the host stops sending above a watermark of unacknowledged characters).

export const FLOW = {
  /** Stop sending a terminal's output to a client above this many unacknowledged characters. */
  highWatermark: 100_000,
  /** Resume once the client has caught up below this. */
  lowWatermark: 20_000,
  /** Merge output for this long before sending. */
  mergeMs: 10,
  /** At most this many characters per message. */
  maxMessageChars: 128 * 1024,
} as const;
