// One stream (stdout or stderr) of one worker: everything goes to its plain-text log file, and the
// raw terminal bytes go to the event stream merged at the source on a short timer, so a process
// printing as fast as it can produces a few dozen events a second, not one per write.

import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { RunEvent } from '../common/events';
import { LogFile } from './logTree';
import { PlainTextLines } from './terminalText';

const MERGE_MS = 10;
const MAX_EVENT_CHARS = 128 * 1024;

export class ProcessOutput {
  private readonly file: LogFile;
  private readonly plain: PlainTextLines;
  private readonly decoder = new StringDecoder('utf8');
  private buffered: string[] = [];
  private bufferedChars = 0;
  private timer: NodeJS.Timeout | null = null;
  private ended: Promise<void> | null = null;

  constructor(
    file: string,
    private readonly process: string,
    private readonly stream: 'stdout' | 'stderr',
    private readonly emit: (event: RunEvent) => void,
  ) {
    this.file = new LogFile(file);
    this.plain = new PlainTextLines((text) => this.file.write(text));
  }

  /** Reads a child's pipe until it closes. */
  attach(readable: Readable | null): void {
    if (!readable) {
      this.ended = this.close();
      return;
    }
    this.ended = new Promise((resolve) => {
      readable.on('data', (chunk: Buffer) => this.write(chunk));
      readable.on('close', () => void this.close().then(resolve));
    });
  }

  /** Resolves once the pipe closed and the file is flushed. */
  done(): Promise<void> {
    return (this.ended ??= this.close());
  }

  write(chunk: Buffer): void {
    this.plain.write(chunk);
    const text = this.decoder.write(chunk);
    if (!text) return;
    this.buffered.push(text);
    this.bufferedChars += text.length;
    if (this.bufferedChars >= MAX_EVENT_CHARS) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), MERGE_MS);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.bufferedChars === 0) return;
    const data = this.buffered.join('');
    this.buffered = [];
    this.bufferedChars = 0;
    this.emit({ type: 'output', process: this.process, stream: this.stream, data });
  }

  private close(): Promise<void> {
    const rest = this.decoder.end();
    if (rest) {
      this.buffered.push(rest);
      this.bufferedChars += rest.length;
    }
    this.flush();
    this.plain.end();
    return this.file.close();
  }
}
