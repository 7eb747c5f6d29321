// The character encodings of text tables (an input's `encoding`, as MLTable's read_delimited
// names them). Record boundaries are found on bytes (LF, quote, comma and tab are the same byte in
// all of these), so only turning a record's bytes into text depends on the encoding. UTF-8, the
// default, is checked: a Latin-1 file read as UTF-8 would otherwise turn into U+FFFD silently.

import { isUtf8 } from 'node:buffer';
import type { TextEncoding } from '../common/spec';

/** The spec's names (MLTable's among them) for each encoding. */
export const ENCODING_NAMES: Record<string, TextEncoding> = {
  utf8: 'utf8',
  latin1: 'latin1',
  iso88591: 'latin1',
  windows1252: 'windows1252',
};

/** Bytes that are not text in the encoding: `offset` is relative to the bytes given. */
export class TextEncodingError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

// Windows-1252 is Latin-1 but for 0x80-0x9F. Node 20's TextDecoder('windows-1252') decodes those
// as Latin-1's control characters, so the 32 letters are mapped here (0x81, 0x8D, 0x8F, 0x90 and
// 0x9D are unassigned and stay as they are, as in WHATWG's table).
const CP1252_HIGH = '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ';
const CP1252_CONTROL = /[\x80-\x9f]/;
const CP1252_CONTROLS = /[\x80-\x9f]/g;

function decodeCp1252(bytes: Buffer): string {
  const text = bytes.toString('latin1');
  return CP1252_CONTROL.test(text)
    ? text.replace(CP1252_CONTROLS, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]!)
    : text;
}

/** The text of `bytes`; throws TextEncodingError where UTF-8 bytes are not valid UTF-8. */
export function decodeText(bytes: Buffer, encoding: TextEncoding = 'utf8'): string {
  if (encoding === 'latin1') return bytes.toString('latin1');
  if (encoding === 'windows1252') return decodeCp1252(bytes);
  checkUtf8(bytes);
  return bytes.toString('utf8');
}

/** Throws TextEncodingError, with the offset of the first bad byte, unless `bytes` are UTF-8. */
export function checkUtf8(bytes: Uint8Array): void {
  // isUtf8 runs at memory speed; the slow search for where runs only on a failure.
  if (!isUtf8(bytes)) {
    const at = firstInvalidUtf8(bytes);
    const shown = [...bytes.subarray(at, at + 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new TextEncodingError(
      `not valid UTF-8 (bytes ${shown}); if the file is Latin-1 or Windows-1252, set the input's encoding: latin1 or windows1252`,
      at,
    );
  }
}

/** The offset (from `from`) of the first byte not in a well-formed UTF-8 sequence; b.length if none. */
export function firstInvalidUtf8(b: Uint8Array, from = 0): number {
  let i = from;
  while (i < b.length) {
    const c = b[i]!;
    const n =
      c < 0x80
        ? 0
        : c >= 0xc2 && c <= 0xdf
          ? 1
          : c >= 0xe0 && c <= 0xef
            ? 2
            : c >= 0xf0 && c <= 0xf4
              ? 3
              : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
    }
    // Overlong and surrogate forms are invalid too.
    const d1 = b[i + 1] ?? 0;
    if (
      (c === 0xe0 && d1 < 0xa0) ||
      (c === 0xed && d1 > 0x9f) ||
      (c === 0xf0 && d1 < 0x90) ||
      (c === 0xf4 && d1 > 0x8f)
    )
      return i;
    i += n + 1;
  }
  return b.length;
}
