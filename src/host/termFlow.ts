// Flow control of terminal output towards one client: output is merged on a short timer
// into messages of bounded size, the client acknowledges what xterm.js has parsed, and above a high
// watermark of unacknowledged characters the view stops receiving (the log files still get
// everything) and is told how many bytes it missed once it has caught up.

import { FLOW } from '../common/terminalFlow';

export interface TermSink {
  data(data: string): void;
  dropped(droppedBytes: number): void;
}

export class TermFlow {
  private pending: string[] = [];
  private pendingChars = 0;
  private unacked = 0;
  private dropping = false;
  private droppedBytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sink: TermSink,
    private readonly limits: { high: number; low: number; mergeMs: number; maxChars: number } = {
      high: FLOW.highWatermark,
      low: FLOW.lowWatermark,
      mergeMs: FLOW.mergeMs,
      maxChars: FLOW.maxMessageChars,
    },
  ) {}

  push(data: string): void {
    // Admit a chunk while below the watermark even if it overshoots: a single merged chunk can be
    // larger than the watermark, and refusing it would leave nothing in flight to be acknowledged.
    if (this.dropping || this.unacked + this.pendingChars >= this.limits.high) {
      this.dropping = true;
      this.droppedBytes += Buffer.byteLength(data, 'utf8');
      return;
    }
    this.pending.push(data);
    this.pendingChars += data.length;
    if (this.pendingChars >= this.limits.maxChars) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.limits.mergeMs);
  }

  ack(chars: number): void {
    this.unacked = Math.max(0, this.unacked - chars);
    if (this.dropping && this.unacked + this.pendingChars <= this.limits.low) {
      this.dropping = false;
      const dropped = this.droppedBytes;
      this.droppedBytes = 0;
      this.sink.dropped(dropped);
    }
  }

  /** Characters sent and not yet acknowledged (for tests and diagnostics). */
  get inFlight(): number {
    return this.unacked;
  }

  get isDropping(): boolean {
    return this.dropping;
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pendingChars === 0) return;
    let text = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    while (text.length > 0) {
      let cut = Math.min(text.length, this.limits.maxChars);
      // Never split a UTF-16 surrogate pair across messages.
      if (cut < text.length && isHighSurrogate(text.charCodeAt(cut - 1))) cut--;
      const part = text.slice(0, cut);
      text = text.slice(cut);
      this.unacked += part.length;
      this.sink.data(part);
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = [];
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
