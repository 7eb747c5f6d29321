// The plain-text log of a terminal stream: the same lines however the stream is cut into chunks,
// carriage returns resolved as a terminal shows them, escapes stripped, the last line flushed at end.

import { describe, expect, it } from 'vitest';
import { PlainTextLines } from '../../src/engine/terminalText';

function plain(chunks: Array<string | Buffer>): string {
  let out = '';
  const lines = new PlainTextLines((text) => (out += text));
  for (const c of chunks) lines.write(c);
  lines.end();
  return out;
}

const STREAM =
  'start\n\x1b[32mgreen\x1b[0m line\r\nloading   0%\rloading  50%\rloading 100%\n' +
  'é ünïcode ✓\n' +
  'bar '.repeat(300) +
  '\rdone\nlast line without newline';

const EXPECTED =
  'start\ngreen line\nloading 100%\né ünïcode ✓\n' +
  'done' +
  'bar '.repeat(300).slice(4) +
  '\nlast line without newline\n';

describe('PlainTextLines', () => {
  it('gives the same text for the whole stream and for every way of cutting it into chunks', () => {
    expect(plain([STREAM])).toBe(EXPECTED);
    const bytes = Buffer.from(STREAM, 'utf8');
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      expect(plain(chunks), `chunks of ${size} bytes`).toBe(EXPECTED);
    }
  });

  it('keeps a line open across many chunks without a newline, then emits it once', () => {
    const emitted: string[] = [];
    const lines = new PlainTextLines((text) => emitted.push(text));
    for (let i = 0; i <= 100; i++) lines.write(`\rprogress ${i}%`);
    expect(emitted).toEqual([]);
    lines.write(' ok\nnext\n');
    expect(emitted).toEqual(['progress 100% ok\nnext\n']);
  });
});
