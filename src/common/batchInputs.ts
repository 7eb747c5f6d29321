// What a mini-batch was given, as the leader writes it in the process's log
// (logs/sys/node/<node_id>/<process>.txt) when the process starts the attempt, and as the app reads
// it back: the files, or each table's byte ranges and rows. A run folder is then enough to say what
// any mini-batch read, without planning the input again (which may have changed since).

import type { MiniBatch, PartitionKeyValue } from './minibatch';

export interface BatchInputs {
  /** Files, or records of a table. */
  items: number;
  files?: string[];
  /** Text tables: byte ranges [start, end); Parquet: row groups. */
  tables?: Array<{
    file: string;
    bytes?: Array<[number, number]>;
    rowGroups?: number[];
    /** The file's lines (1-based, inclusive) each byte range covers: the app fills these in. */
    lines?: Array<[number, number]>;
  }>;
  partition?: PartitionKeyValue;
}

export interface BatchStartLine {
  miniBatchId: number;
  attempt: number;
  inputs: BatchInputs | null;
}

export function batchInputs(batch: MiniBatch): BatchInputs {
  const files: string[] = [];
  const tables: NonNullable<BatchInputs['tables']> = [];
  for (const s of batch.sources) {
    if (s.kind === 'files') files.push(...s.files);
    else if (s.kind === 'table') tables.push({ file: s.file, bytes: s.ranges });
    else tables.push({ file: s.file, rowGroups: s.rowGroups });
  }
  return {
    items: batch.items,
    ...(files.length > 0 ? { files } : {}),
    ...(tables.length > 0 ? { tables } : {}),
    ...(batch.partition_key_value ? { partition: batch.partition_key_value } : {}),
  };
}

/** The text after the timestamp: "mini-batch 3 attempt 1 starts: inputs {...}" (JSON: one line). */
export function batchStartText(batch: MiniBatch, attempt: number): string {
  return `mini-batch ${batch.id} attempt ${attempt} starts: inputs ${JSON.stringify(batchInputs(batch))}`;
}

const START = /mini-batch (\d+) attempt (\d+) starts: inputs (\{.*\})\s*$/;

/** A line of a process log that starts an attempt, or null for any other line. */
export function parseBatchStart(line: string): BatchStartLine | null {
  const m = START.exec(line);
  if (!m) return null;
  let inputs: BatchInputs | null = null;
  try {
    const v = JSON.parse(m[3]) as unknown;
    if (v && typeof v === 'object' && typeof (v as BatchInputs).items === 'number') inputs = v as BatchInputs;
  } catch {
    // A torn line (the run was killed mid-write): the attempt is still known, its inputs not.
  }
  return { miniBatchId: Number(m[1]), attempt: Number(m[2]), inputs };
}
