// The logs browser's host side: the tree of a run folder's logs/, and what the log tree says about
// one mini-batch (its inputs and its lines in each process log). Every path is checked by
// runFolderPaths: a link inside logs/ is listed as a link and never followed.

import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { LogTreeEntry, MiniBatchLogs } from '../common/api';
import { parseBatchStart, type BatchInputs } from '../common/batchInputs';
import type { JobSpec } from '../common/spec';
import { openRunFolder, resolveInside } from './runFolderPaths';

/** The perf/os listings add a file a minute: a long run's tree is cut here, and says so. */
const MAX_ENTRIES = 5000;

export async function listLogTree(runDir: string): Promise<{ entries: LogTreeEntry[]; truncated: boolean }> {
  const { dir } = await openRunFolder(runDir);
  const entries: LogTreeEntry[] = [];
  let truncated = false;
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(path.join(dir, rel)).catch(() => [] as string[])).sort(byName);
    for (const name of names) {
      if (entries.length >= MAX_ENTRIES) {
        truncated = true;
        return;
      }
      const child = `${rel}/${name}`;
      const st = await lstat(path.join(dir, child)).catch(() => null);
      if (!st) continue;
      if (st.isDirectory()) {
        entries.push({ path: child, kind: 'dir', size: 0, mtimeMs: st.mtimeMs });
        await walk(child);
      } else if (st.isFile()) entries.push({ path: child, kind: 'file', size: st.size, mtimeMs: st.mtimeMs });
      else if (st.isSymbolicLink()) entries.push({ path: child, kind: 'link', size: 0, mtimeMs: st.mtimeMs });
    }
  };
  await resolveInside(dir, 'logs');
  await walk('logs');
  return { entries, truncated };
}

/** readme.txt and job_result.txt first, as a person reads the tree; then files before folders. */
function byName(a: string, b: string): number {
  const rank = (n: string) =>
    n === 'readme.txt' ? 0 : n === 'job_result.txt' ? 1 : n === 'job_error.txt' ? 2 : 3;
  return rank(a) - rank(b) || a.localeCompare(b, undefined, { numeric: true });
}

/** Each line of a file with its byte offset, read as a stream (a process log can be large). */
async function* linesWithOffsets(
  file: string,
): AsyncGenerator<{ line: number; offset: number; text: string }> {
  let rest = Buffer.alloc(0);
  let offset = 0;
  let line = 0;
  for await (const chunk of createReadStream(file)) {
    let buf = Buffer.concat([rest, chunk as Buffer]);
    let nl: number;
    while ((nl = buf.indexOf(10)) >= 0) {
      yield { line, offset, text: buf.subarray(0, nl).toString('utf8') };
      line++;
      offset += nl + 1;
      buf = buf.subarray(nl + 1);
    }
    rest = buf;
  }
  if (rest.length > 0) yield { line, offset, text: rest.toString('utf8') };
}

/**
 * One mini-batch as the process logs (logs/sys/node/<node>/<process>.txt) tell it: per attempt,
 * the process that ran it, what it was given (the "starts" line) and where its lines are.
 */
export async function miniBatchLogs(runDir: string, miniBatchId: number): Promise<MiniBatchLogs> {
  const { dir, json } = await openRunFolder(runDir);
  const needle = `mini-batch ${miniBatchId} attempt `;
  const attempts = new Map<string, MiniBatchLogs['attempts'][number]>();
  const nodesRel = path.join('logs', 'sys', 'node');
  for (const node of await readdir(path.join(dir, nodesRel)).catch(() => [] as string[])) {
    for (const f of await readdir(path.join(dir, nodesRel, node)).catch(() => [] as string[])) {
      if (!/^process\d+\.txt$/.test(f)) continue;
      const rel = `logs/sys/node/${node}/${f}`;
      const file = await resolveInside(dir, rel).catch(() => null);
      if (!file) continue;
      const process = f.replace(/\.txt$/, '');
      for await (const l of linesWithOffsets(file)) {
        const at = l.text.indexOf(needle);
        if (at < 0) continue;
        const attempt = Number(/^\d+/.exec(l.text.slice(at + needle.length))?.[0] ?? NaN);
        if (!Number.isInteger(attempt)) continue;
        const key = `${attempt}`;
        const a = attempts.get(key) ?? {
          attempt,
          process,
          nodeId: node,
          logPath: rel,
          inputs: null,
          lines: [],
        };
        const start = parseBatchStart(l.text);
        if (start?.inputs) a.inputs = start.inputs;
        a.lines.push({ line: l.line, offset: l.offset, text: l.text });
        attempts.set(key, a);
      }
    }
  }
  for (const a of attempts.values()) for (const t of a.inputs?.tables ?? []) await addLines(json.spec, t);
  return { miniBatchId, attempts: [...attempts.values()].sort((a, b) => a.attempt - b.attempt) };
}

type TableInput = NonNullable<BatchInputs['tables']>[number];

/** Lines are counted up to here; past it, a range is shown by bytes alone. */
const MAX_COUNT_BYTES = 256 * 1024 * 1024;

/**
 * The lines of the input file each byte range covers (a person finds rows by line). Only a file of
 * the job's own inputs is read: the path comes from a log in the run folder, which anyone may edit,
 * and the host must not count the lines of whatever file a planted log names.
 */
async function addLines(spec: JobSpec, t: TableInput): Promise<void> {
  if (!t.bytes || t.bytes.length === 0) return;
  const input = spec.inputs?.find((i) => isInsideInput(i.path, t.file));
  if (!input || (input.encoding && input.encoding !== 'utf8')) return;
  const last = Math.max(...t.bytes.map(([, e]) => e));
  if (last > MAX_COUNT_BYTES) return;
  const marks = [...new Set(t.bytes.flat())].sort((x, y) => x - y);
  const before = new Map<number, number>();
  let newlines = 0;
  let pos = 0;
  let next = 0;
  try {
    for await (const chunk of createReadStream(t.file, { end: last - 1 })) {
      const buf = chunk as Buffer;
      while (next < marks.length && marks[next]! <= pos + buf.length) {
        const upto = marks[next]! - pos;
        let n = 0;
        for (let i = buf.indexOf(10); i >= 0 && i < upto; i = buf.indexOf(10, i + 1)) n++;
        before.set(marks[next]!, newlines + n);
        next++;
      }
      for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) newlines++;
      pos += buf.length;
    }
  } catch {
    return; // Moved or deleted since the run: bytes alone.
  }
  for (; next < marks.length; next++) before.set(marks[next]!, newlines);
  t.lines = t.bytes.map(([s, e]) => [(before.get(s) ?? 0) + 1, before.get(e) ?? 0]);
}

function isInsideInput(inputPath: string, file: string): boolean {
  const glob = inputPath.search(/[*?[{]/);
  const root = glob >= 0 ? path.dirname(inputPath.slice(0, glob) + 'x') : inputPath;
  const rel = path.relative(root, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
