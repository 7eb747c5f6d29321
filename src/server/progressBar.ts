// The CLI's view of a run: a live one-line bar on a terminal, plain progress lines otherwise.

import type { Progress } from '../common/events';
import { hms } from '../engine/logTree';

export function progressLine(p: Progress, width = 30): string {
  const processed = p.succeeded + p.failed;
  const total = p.total ?? p.planned;
  const fraction = total > 0 ? processed / total : 0;
  const filled = Math.round(fraction * width);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const rate = p.elapsedS > 0 ? p.itemsSucceeded / p.elapsedS : 0;
  const eta = p.etaS === null ? '--' : hms(p.etaS);
  const failures =
    p.failed > 0 || p.failedAttempts > 0 ? `, ${p.failed} failed (${p.failedAttempts} failed attempts)` : '';
  return (
    `${bar} ${processed}/${p.total ?? `${p.planned}+`} mini-batches, ${rate.toFixed(rate < 10 ? 1 : 0)} items/s` +
    `${failures}, elapsed ${hms(p.elapsedS)}, ETA ${eta}`
  );
}

export class ProgressView {
  private last = 0;
  private latest: Progress | null = null;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly live: boolean,
  ) {}

  update(p: Progress): void {
    this.latest = p;
    const now = Date.now();
    if (this.live) {
      if (now - this.last < 100) return;
      this.last = now;
      this.out.write(
        `\r\x1b[2K${progressLine(p, Math.max(10, Math.min(30, (this.out.columns ?? 100) - 90)))}`,
      );
    } else if (now - this.last >= 5000) {
      this.last = now;
      this.out.write(progressLine(p) + '\n');
    }
  }

  /** Prints a message above the bar. */
  message(text: string): void {
    if (this.live) this.out.write(`\r\x1b[2K${text}\n`);
    else this.out.write(text + '\n');
  }

  end(): void {
    if (this.latest) {
      if (this.live) this.out.write(`\r\x1b[2K${progressLine(this.latest)}\n`);
      else this.out.write(progressLine(this.latest) + '\n');
    }
  }
}
