// The output browser on a 1 GB append_row file (issue 6): first page, jumps to random lines and to
// random byte offsets, and a full search, all through a real `prs serve` over its WebSocket, the
// same code path the app uses. Goal: first page and every jump under 300 ms.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import WebSocket from 'ws';
import { PRS, tempDir } from './lib.mjs';

const GB = 1024 ** 3;

/**
 * Writes ~1 GB of PRS-like rows ("<file> <label> <score>") through a stream, and (withIndex) the line
 * index the engine writes beside every output it appends (src/common/lineIndex.ts: the offset of
 * every 1024th line, u64 little-endian). Returns the line count.
 */
export async function writeBigOutput(file, bytes = GB, withIndex = true) {
  const out = createWriteStream(file);
  const offsets = [];
  let written = 0;
  let line = 0;
  while (written < bytes) {
    let block = '';
    for (let i = 0; i < 10_000; i++, line++) {
      if (line % 1024 === 0) offsets.push(written + block.length);
      block += `item${String(line).padStart(9, '0')}.png label_${line % 10} ${(line % 997) / 997} ok\n`;
    }
    written += block.length;
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  if (withIndex) {
    const index = Buffer.alloc(offsets.length * 8);
    offsets.forEach((o, i) => index.writeBigUInt64LE(BigInt(o), i * 8));
    writeFileSync(path.join(path.dirname(file), `.${path.basename(file)}.lineindex`), index);
  }
  return line;
}

async function serve(env) {
  const child = spawn(process.execPath, [PRS, 'serve', '--port', '0'], { env: { ...process.env, ...env } });
  let out = '';
  const url = await new Promise((resolve, reject) => {
    const onData = (d) => {
      out += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)/.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (c) => reject(new Error(`prs serve exited ${c}: ${out}`)));
  });
  return { child, url: new URL(url) };
}

function client(url) {
  const ws = new WebSocket(`ws://${url.host}/ws?token=${url.searchParams.get('token')}`);
  const pending = new Map();
  const listeners = new Set();
  let id = 1;
  ws.on('message', (raw) => {
    const f = JSON.parse(String(raw));
    if (f.kind === 'event') return listeners.forEach((l) => l(f.event));
    const p = pending.get(f.id);
    pending.delete(f.id);
    if (f.ok) p.resolve(f.result);
    else p.reject(new Error(f.error));
  });
  return {
    opened: once(ws, 'open'),
    call(method, params) {
      return new Promise((resolve, reject) => {
        const n = id++;
        pending.set(n, { resolve, reject });
        ws.send(JSON.stringify({ kind: 'req', id: n, method, params }));
      });
    },
    on: (l) => listeners.add(l),
    close: () => ws.close(),
  };
}

async function ms(fn) {
  const t0 = performance.now();
  const r = await fn();
  return { ms: performance.now() - t0, r };
}

export default async function outputs() {
  const dir = tempDir('prs-bench-outputs-');
  const runDir = path.join(dir, 'runs', 'big', 'run-1');
  mkdirSync(path.join(runDir, 'outputs'), { recursive: true });
  writeFileSync(
    path.join(runDir, 'run.json'),
    JSON.stringify({ spec: { name: 'big', append_row_file_name: 'out.txt' } }),
  );
  const file = path.join(runDir, 'outputs', 'out.txt');
  const t0 = performance.now();
  const lines = await writeBigOutput(file);
  console.log(
    `generated 1 GB, ${lines.toLocaleString()} lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const { child, url } = await serve({ PRS_DATA_DIR: dir });
  const c = client(url);
  await c.opened;
  try {
    const goal = (t) => (t < 300 ? 'ok' : 'OVER GOAL');
    const first = await ms(() => c.call('readOutputPage', { runDir, start: 0, maxLines: 200 }));
    console.log(
      `first page (cold, 200 lines)             ${first.ms.toFixed(1).padStart(8)} ms  ${goal(first.ms)}`,
    );
    const byte = [];
    for (let i = 0; i < 5; i++) {
      const off = Math.floor(Math.random() * GB);
      byte.push((await ms(() => c.call('readOutputPage', { runDir, start: off, maxLines: 200 }))).ms);
    }
    console.log(
      `jump to a byte offset, 5 random, max     ${Math.max(...byte)
        .toFixed(1)
        .padStart(8)} ms  ${goal(Math.max(...byte))}`,
    );
    // The engine wrote the line index while appending: a jump to the very end is as fast as any.
    const cold = await ms(() => c.call('readOutputPage', { runDir, line: lines - 100, maxLines: 200 }));
    console.log(
      `first jump to the last lines (cold)      ${cold.ms.toFixed(1).padStart(8)} ms  ${goal(cold.ms)}`,
    );
    const jumps = [];
    let wrong = 0;
    for (let i = 0; i < 10; i++) {
      const line = Math.floor(Math.random() * lines);
      const j = await ms(() => c.call('readOutputPage', { runDir, line, maxLines: 200 }));
      jumps.push(j.ms);
      if (!j.r.lines[0].startsWith(`item${String(line).padStart(9, '0')}`)) wrong++;
    }
    const maxJump = Math.max(...jumps);
    console.log(
      `jump to a line, 10 random (indexed), max ${maxJump.toFixed(1).padStart(8)} ms  ${goal(maxJump)}${wrong ? `  ${wrong} WRONG LINES` : ''}`,
    );
    const search = await ms(async () => {
      const { searchId } = await c.call('searchOutput', { runDir, query: 'item0012345', limit: 100 });
      return new Promise((resolve) =>
        c.on((e) => e.type === 'search-progress' && e.searchId === searchId && e.done && resolve(e)),
      );
    });
    console.log(
      `search 1 GB for a text (${search.r.totalMatches} matches)          ${(search.ms / 1000).toFixed(2).padStart(8)} s   ${(GB / 1024 ** 2 / (search.ms / 1000)).toFixed(0)} MB/s`,
    );
  } finally {
    c.close();
    child.kill('SIGTERM');
    await once(child, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await outputs();
