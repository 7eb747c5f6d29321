// File names that are not valid UTF-8 (Linux names are bytes: a Latin-1 "é" is one byte 0xE9).
// Node's string names turn such a byte into U+FFFD, and the path no longer names the file. Here a
// name keeps its bytes the way Python's os.fsdecode does (surrogateescape): a byte that is not
// UTF-8 becomes the lone surrogate U+DC80-U+DCFF. Such a string survives JSON (as "\udce9") to the
// Python driver, where open() encodes it back to the same bytes; Node's fs gets the bytes from
// fsPath(). The Node runtime cannot hand such a name to run() as a usable string: the planner
// says so, naming the file.

import { firstInvalidUtf8 } from './textEncoding';

/** A lone low surrogate in the range surrogateescape uses. */
const ESCAPED = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;
const ESCAPED_ALL = new RegExp(ESCAPED.source, 'g');

/** A name's bytes as a string, each byte that is not UTF-8 kept as U+DC80 + (byte - 0x80). */
export function nameFromBytes(bytes: Buffer): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const bad = firstInvalidUtf8(bytes, i);
    out += bytes.toString('utf8', i, bad);
    if (bad < bytes.length) out += String.fromCharCode(0xdc00 + bytes[bad]!);
    i = bad + 1;
  }
  return out;
}

/** Whether a path holds bytes that are not UTF-8 (escaped by nameFromBytes). */
export function hasRawBytes(p: string): boolean {
  return ESCAPED.test(p);
}

/** What Node's fs must be given for a path: its bytes where it holds escaped ones. */
export function fsPath(p: string): string | Buffer {
  if (!hasRawBytes(p)) return p;
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of p.matchAll(ESCAPED_ALL)) {
    parts.push(Buffer.from(p.slice(last, m.index), 'utf8'), Buffer.from([m[0].charCodeAt(0) - 0xdc00]));
    last = m.index + 1;
  }
  parts.push(Buffer.from(p.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

/** A path for messages: each byte that is not UTF-8 written as \xNN, as Python's repr shows it. */
export function displayPath(p: string): string {
  return p.replace(ESCAPED_ALL, (c) => `\\x${(c.charCodeAt(0) - 0xdc00).toString(16)}`);
}
