// logTime keeps the text of the last second it formatted: every timestamp must still read exactly
// as formatting it from scratch would, across seconds, in any order, with fractional milliseconds.

import { describe, expect, it } from 'vitest';
import { isoTime, logTime } from '../../src/engine/logTree';

function fromScratch(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${pad(d.getMilliseconds(), 3)}`
  );
}

describe('logTime', () => {
  it('reads as the full formatting does, for any timestamp in any order', () => {
    const base = Date.UTC(2026, 11, 31, 23, 59, 58, 990);
    const times = [
      base,
      base + 5,
      base + 9.7,
      base + 10,
      base + 1009.99,
      base + 1010,
      base - 1,
      base + 86_400_000 * 40 + 123.4,
      base + 2,
      0,
      999,
      1000,
    ];
    for (let i = 0; i < 200; i++) times.push(base + Math.random() * 5000);
    for (const t of times) expect(logTime(t), String(t)).toBe(fromScratch(t));
    for (const t of times) expect(isoTime(t), String(t)).toBe(new Date(t).toISOString());
  });
});
