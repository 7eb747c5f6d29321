// A minimal parquet writer for tests: required INT32 / INT64 / UTF-8 columns, PLAIN encoding,
// uncompressed, one data page per column chunk, any number of row groups. Neither pyarrow nor
// fastparquet is installed for /usr/bin/python3 here, and hyparquet only reads, so the tests make
// their parquet files with this (and read them with the product's hyparquet-based code).

import { writeFileSync } from 'node:fs';

export type ParquetColumnType = 'int32' | 'int64' | 'string';
export interface ParquetColumn {
  name: string;
  type: ParquetColumnType;
}

// Thrift compact protocol, just what FileMetaData and PageHeader need.
class Compact {
  private bytes: number[] = [];
  private lastField: number[] = [0];

  /** The bytes of the top-level struct, its stop byte included. */
  out(): Buffer {
    return Buffer.from([...this.bytes, 0]);
  }
  private varint(n: bigint): void {
    let v = n;
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }
  private zigzag(n: bigint): void {
    this.varint(n >= 0n ? n << 1n : (-n << 1n) - 1n);
  }
  private header(id: number, type: number): void {
    const delta = id - this.lastField[this.lastField.length - 1];
    if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | type);
    else {
      this.bytes.push(type);
      this.zigzag(BigInt(id));
    }
    this.lastField[this.lastField.length - 1] = id;
  }
  i32(id: number, v: number): this {
    this.header(id, 5);
    this.zigzag(BigInt(v));
    return this;
  }
  i64(id: number, v: number | bigint): this {
    this.header(id, 6);
    this.zigzag(BigInt(v));
    return this;
  }
  str(id: number, s: string): this {
    this.header(id, 8);
    const b = Buffer.from(s, 'utf8');
    this.varint(BigInt(b.length));
    for (const x of b) this.bytes.push(x);
    return this;
  }
  struct(id: number, body: (w: this) => void): this {
    this.header(id, 12);
    this.lastField.push(0);
    body(this);
    this.bytes.push(0);
    this.lastField.pop();
    return this;
  }
  list<T>(
    id: number,
    elemType: 'i32' | 'string' | 'struct',
    items: T[],
    each: (w: this, item: T) => void,
  ): this {
    const t = { i32: 5, string: 8, struct: 12 }[elemType];
    this.header(id, 9);
    if (items.length < 15) this.bytes.push((items.length << 4) | t);
    else {
      this.bytes.push(0xf0 | t);
      this.varint(BigInt(items.length));
    }
    for (const item of items) each(this, item);
    return this;
  }
  // list elements, written without field headers
  rawI32(v: number): void {
    this.zigzag(BigInt(v));
  }
  rawStr(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.varint(BigInt(b.length));
    for (const x of b) this.bytes.push(x);
  }
  rawStruct(body: (w: this) => void): void {
    this.lastField.push(0);
    body(this);
    this.bytes.push(0);
    this.lastField.pop();
  }
}

const TYPE = { int32: 1, int64: 2, string: 6 } as const;

function plain(type: ParquetColumnType, values: unknown[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) {
    if (type === 'int32') {
      const b = Buffer.alloc(4);
      b.writeInt32LE(Number(v));
      parts.push(b);
    } else if (type === 'int64') {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt(v as number));
      parts.push(b);
    } else {
      const s = Buffer.from(String(v), 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(s.length);
      parts.push(len, s);
    }
  }
  return Buffer.concat(parts);
}

/** Writes `rowGroups` (each an array of rows, one value per column) to `file`. */
export function writeParquet(file: string, columns: ParquetColumn[], rowGroups: unknown[][][]): void {
  const chunks: Buffer[] = [Buffer.from('PAR1')];
  let offset = 4;
  const groupsMeta: Array<{
    rows: number;
    cols: Array<{ offset: number; size: number; col: ParquetColumn }>;
  }> = [];
  for (const rows of rowGroups) {
    const cols: Array<{ offset: number; size: number; col: ParquetColumn }> = [];
    columns.forEach((col, c) => {
      const data = plain(
        col.type,
        rows.map((r) => r[c]),
      );
      const header = new Compact()
        .i32(1, 0) // DATA_PAGE
        .i32(2, data.length)
        .i32(3, data.length)
        .struct(5, (w) => w.i32(1, rows.length).i32(2, 0).i32(3, 3).i32(4, 3))
        .out();
      cols.push({ offset, size: header.length + data.length, col });
      chunks.push(header, data);
      offset += header.length + data.length;
    });
    groupsMeta.push({ rows: rows.length, cols });
  }
  const totalRows = rowGroups.reduce((n, g) => n + g.length, 0);
  const meta = new Compact()
    .i32(1, 1)
    .list(2, 'struct', [undefined, ...columns], (w, col) =>
      w.rawStruct((s) => {
        if (!col) {
          s.str(4, 'schema').i32(5, columns.length);
          return;
        }
        s.i32(1, TYPE[col.type]).i32(3, 0).str(4, col.name);
        if (col.type === 'string') s.i32(6, 0); // UTF8
      }),
    )
    .i64(3, totalRows)
    .list(4, 'struct', groupsMeta, (w, g) =>
      w.rawStruct((s) => {
        const bytes = g.cols.reduce((n, c) => n + c.size, 0);
        s.list(1, 'struct', g.cols, (w2, c) =>
          w2.rawStruct((cc) =>
            cc.i64(2, c.offset).struct(3, (m) =>
              m
                .i32(1, TYPE[c.col.type])
                .list(2, 'i32', [0], (w3, e) => w3.rawI32(e))
                .list(3, 'string', [c.col.name], (w3, e) => w3.rawStr(e))
                .i32(4, 0)
                .i64(5, g.rows)
                .i64(6, c.size)
                .i64(7, c.size)
                .i64(9, c.offset),
            ),
          ),
        );
        s.i64(2, bytes).i64(3, g.rows).i64(6, bytes);
      }),
    )
    .str(6, 'parallel-run-studio test writer')
    .out();
  const len = Buffer.alloc(4);
  len.writeUInt32LE(meta.length);
  chunks.push(meta, len, Buffer.from('PAR1'));
  writeFileSync(file, Buffer.concat(chunks));
}
