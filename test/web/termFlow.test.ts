import { describe, expect, it } from 'vitest';
import { TermFlow } from '../../src/host/termFlow';

function sink() {
  const got = { messages: [] as string[], dropped: [] as number[] };
  return {
    got,
    sink: { data: (d: string) => got.messages.push(d), dropped: (n: number) => got.dropped.push(n) },
  };
}

const limits = { high: 1000, low: 200, mergeMs: 5, maxChars: 300 };

describe('TermFlow', () => {
  it('merges chunks on a short timer into one message', async () => {
    const { got, sink: s } = sink();
    const flow = new TermFlow(s, limits);
    flow.push('a');
    flow.push('b');
    flow.push('c');
    expect(got.messages).toEqual([]);
    await new Promise((r) => setTimeout(r, 30));
    expect(got.messages).toEqual(['abc']);
    expect(flow.inFlight).toBe(3);
  });

  it('caps message size and never splits a surrogate pair', () => {
    const { got, sink: s } = sink();
    const flow = new TermFlow(s, { ...limits, maxChars: 4 });
    flow.push('abc😀def'); // 😀 is two UTF-16 units at positions 3-4
    flow.flush();
    expect(got.messages.join('')).toBe('abc😀def');
    for (const m of got.messages) {
      expect(m.length).toBeLessThanOrEqual(4);
      expect(/[\uD800-\uDBFF]$/.test(m)).toBe(false);
    }
  });

  it('stops sending above the high watermark, counts dropped bytes, and resumes after acks', () => {
    const { got, sink: s } = sink();
    const flow = new TermFlow(s, limits);
    for (let i = 0; i < 20; i++) {
      flow.push('x'.repeat(100));
      flow.flush();
    }
    const sent = got.messages.join('').length;
    expect(sent).toBeLessThanOrEqual(limits.high);
    expect(flow.isDropping).toBe(true);
    // Acknowledging a little is not enough to resume.
    flow.ack(100);
    expect(got.dropped).toEqual([]);
    flow.ack(sent);
    expect(flow.isDropping).toBe(false);
    expect(got.dropped).toEqual([20 * 100 - sent]);
    flow.push('after');
    flow.flush();
    expect(got.messages.at(-1)).toBe('after');
  });

  it('admits a first chunk larger than the watermark, so acknowledgements can follow', () => {
    const { got, sink: s } = sink();
    const flow = new TermFlow(s, limits);
    flow.push('z'.repeat(limits.high * 2));
    flow.flush();
    expect(got.messages.join('').length).toBe(limits.high * 2);
    flow.push('more');
    expect(flow.isDropping).toBe(true);
    flow.ack(limits.high * 2);
    expect(got.dropped).toEqual([4]);
  });

  it('counts dropped output in UTF-8 bytes', () => {
    const { got, sink: s } = sink();
    const flow = new TermFlow(s, { ...limits, high: 10 });
    flow.push('0123456789');
    flow.flush();
    flow.push('é'); // 2 bytes in UTF-8, above the watermark
    flow.ack(10);
    expect(got.dropped).toEqual([2]);
  });
});
