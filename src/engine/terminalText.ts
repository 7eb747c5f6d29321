// Terminal output -> plain text for the log files. The live stream keeps escape sequences and
// carriage returns (the app's terminals render them); the files must read like a log, so a
// progress bar that redraws itself 1,000 times leaves one final line, not 1,000.

import { StringDecoder } from 'node:string_decoder';

// CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), and two-character escapes.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export function stripEscapes(text: string): string {
  return text.replace(ESCAPES, '');
}

/**
 * Streams bytes in, plain lines out. A line is emitted when its newline arrives; within a line a
 * carriage return starts the text over (what a terminal shows), and the final line is flushed by end().
 */
export class PlainTextLines {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  // An escape sequence can be cut across chunks: hold a trailing ESC fragment back.
  private pendingEscape = '';

  constructor(private readonly emit: (text: string) => void) {}

  write(chunk: Buffer | string): void {
    let text = this.pendingEscape + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    this.pendingEscape = '';
    const esc = text.lastIndexOf('\x1b');
    // eslint-disable-next-line no-control-regex
    if (esc !== -1 && esc > text.length - 64 && !/[@-~\x07]/.test(text.slice(esc + 2))) {
      this.pendingEscape = text.slice(esc);
      text = text.slice(0, esc);
    }
    this.push(stripEscapes(text));
  }

  end(): void {
    const rest = this.pendingEscape + this.decoder.end();
    this.pendingEscape = '';
    this.push(stripEscapes(rest));
    if (this.partial) this.emit(resolveCarriageReturns(this.partial) + '\n');
    this.partial = '';
  }

  private push(text: string): void {
    if (!text) return;
    // A line still open (a progress bar redrawn with \r for minutes) is only appended to, not split
    // again with every chunk.
    const end = text.lastIndexOf('\n');
    if (end === -1) {
      this.partial += text;
      return;
    }
    const lines = (this.partial + text.slice(0, end)).split('\n');
    this.partial = text.slice(end + 1);
    this.emit(lines.map((l) => resolveCarriageReturns(l) + '\n').join(''));
  }
}

/** "50%\r100%" shows as "100%"; a trailing "\r" (from "\r\n") is dropped. */
export function resolveCarriageReturns(line: string): string {
  if (!line.includes('\r')) return line;
  const parts = line.split('\r');
  let shown = '';
  for (const part of parts) {
    // Later text overwrites earlier text from column 0, as a terminal does.
    shown = part + shown.slice(part.length);
  }
  return shown;
}
