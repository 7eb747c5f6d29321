// The leader's reader of worker messages: the same lines whatever the chunks (pure, in-process).
// Its point is speed (one scan per chunk, issue 15), which no test asserts: this one holds it to
// what the former split-per-chunk reader gave.

import { describe, expect, it } from 'vitest';
import { lineSplitter } from '../../src/common/lineSplitter';

function split(chunks: string[]): string[] {
  const out: string[] = [];
  const feed = lineSplitter((line) => out.push(line));
  for (const c of chunks) feed(c);
  return out;
}

describe('lineSplitter', () => {
  const text = '{"a":1}\n{"b":"x y"}\n\n{"c":"ünï ✓"}\n' + `{"big":"${'z'.repeat(5000)}"}\n{"last":true}`;
  const lines = ['{"a":1}', '{"b":"x y"}', '{"c":"ünï ✓"}', `{"big":"${'z'.repeat(5000)}"}`];

  it('gives every complete line once, skipping empty ones, for chunks cut anywhere', () => {
    expect(split([text])).toEqual(lines);
    for (const size of [1, 2, 3, 7, 64, 4999, 5001]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      expect(split(chunks), `chunks of ${size}`).toEqual(lines);
    }
  });

  it('keeps an unfinished line until its newline arrives', () => {
    const out: string[] = [];
    const feed = lineSplitter((line) => out.push(line));
    feed('{"last":');
    feed('true}');
    expect(out).toEqual([]);
    feed('\n');
    expect(out).toEqual(['{"last":true}']);
  });
});
