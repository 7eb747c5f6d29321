// The record scanners must find the same boundaries however the bytes are cut into chunks: the
// planner reads 1 MiB chunks, the worker reads whole ranges, and a quote or a CRLF can fall on any
// chunk edge.

import { describe, expect, it } from 'vitest';
import { CsvScanner, LineScanner, RecordFormatError, parseCsvFields } from '../../src/runtime/textRecords';

type Rec = [number, number, boolean];

function scan(kind: 'csv' | 'line', bytes: Buffer, chunk: number): Rec[] {
  const out: Rec[] = [];
  const s =
    kind === 'csv'
      ? new CsvScanner((a, b, blank) => out.push([a, b, blank]))
      : new LineScanner((a, b, blank) => out.push([a, b, blank]));
  for (let i = 0; i < bytes.length; i += chunk) s.push(bytes.subarray(i, i + chunk), i);
  s.finish(bytes.length);
  return out;
}

const CSV = Buffer.from(
  'id,text,n\r\n' +
    '1,"multi\nline, with comma",3\r\n' +
    '\r\n' +
    '2,"say ""hi""\r\nthen ""bye""",4\n' +
    '3,plain "quote" inside,5\n' +
    '4,"",""\n' +
    '\n' +
    '5,"ends with quote """,6',
);

describe('record scanners', () => {
  it('CSV: quoted newlines, escaped quotes, CRLF and blank lines, identical for every chunk size', () => {
    const whole = scan('csv', CSV, CSV.length);
    const text = (r: Rec) => CSV.toString('utf8', r[0], r[1]);
    expect(whole.map(text)).toEqual([
      'id,text,n\r\n',
      '1,"multi\nline, with comma",3\r\n',
      '\r\n',
      '2,"say ""hi""\r\nthen ""bye""",4\n',
      '3,plain "quote" inside,5\n',
      '4,"",""\n',
      '\n',
      '5,"ends with quote """,6',
    ]);
    expect(whole.map((r) => r[2])).toEqual([false, false, true, false, false, false, true, false]);
    for (let chunk = 1; chunk <= 17; chunk++) expect(scan('csv', CSV, chunk)).toEqual(whole);
  });

  it('CSV: an unterminated quote is an error at the opening quote', () => {
    const bad = Buffer.from('a,b\n1,"never closed\n2,3\n');
    for (const chunk of [1, 3, bad.length]) {
      let err: unknown;
      try {
        scan('csv', bad, chunk);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RecordFormatError);
      expect((err as RecordFormatError).offset).toBe(6);
    }
  });

  it('CSV: a byte order mark does not hide a quoted first header field', () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('"a\nb",c\n1,2\n')]);
    expect(scan('csv', bom, 2).map((r) => r[1])).toEqual([bom.length - 4, bom.length]);
  });

  it('lines: LF ends a record, "\\r\\n" and empty lines are blank, a last line without LF counts', () => {
    const buf = Buffer.from('a\tb\n\r\n\n1\t2\r\n3\t4');
    const whole = scan('line', buf, buf.length);
    expect(whole).toEqual([
      [0, 4, false],
      [4, 6, true],
      [6, 7, true],
      [7, 12, false],
      [12, 15, false],
    ]);
    for (let chunk = 1; chunk <= 5; chunk++) expect(scan('line', buf, chunk)).toEqual(whole);
  });

  it('parses CSV fields with quotes resolved and values otherwise as in the file', () => {
    expect(parseCsvFields('1,"a,b","say ""x""",, spaced ,"q"tail')).toEqual([
      '1',
      'a,b',
      'say "x"',
      '',
      ' spaced ',
      'qtail',
    ]);
    expect(parseCsvFields('')).toEqual(['']);
    expect(parseCsvFields('a,')).toEqual(['a', '']);
    expect(parseCsvFields('"multi\r\nline"')).toEqual(['multi\r\nline']);
  });
});
