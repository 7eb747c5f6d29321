// Threads of the leader's process that decode parquet mini-batches for the Python workers it hosts
// itself (src/engine/inlinePython.ts), so that a parquet job's interpreters, too, are forked from
// the run's fork server with no Node worker process in between. A thread starts only when every one
// is busy, up to the machine's cores (no lower cap: decoding is CPU-bound, and the interpreters wait
// for it, so fewer threads than busy workers would make the leader the job's limit); each takes one
// mini-batch at a time; each worker asks for one at a time (sendInOrder in runtime.ts), so a job of
// two workers has at most two threads, whatever the machine.

import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BatchSource, Table } from '../common/minibatch';
import { packageRoot } from '../runtime/paths';
import type { ColumnTable } from '../runtime/tables';
import type { DecodeReply, DecodeRequest } from './parquetThread';

interface Thread {
  worker: Worker;
  busy: number;
}

export class ParquetThreads {
  private readonly threads: Thread[] = [];
  private readonly waiting = new Map<number, { thread: Thread; settle: (reply: DecodeReply) => void }>();
  private nextId = 0;

  constructor(private readonly max = Math.max(1, os.availableParallelism())) {}

  /** The mini-batch's table, as the worker process reads it; rejects with the reader's error. */
  read(sources: BatchSource[]): Promise<Table | ColumnTable> {
    const thread = this.pick();
    const id = this.nextId++;
    if (thread.busy++ === 0) thread.worker.ref();
    return new Promise<DecodeReply>((settle) => {
      this.waiting.set(id, { thread, settle });
      thread.worker.postMessage({ id, sources } satisfies DecodeRequest);
    }).then((reply) => {
      if ('table' in reply) return reply.table;
      throw Object.assign(new Error(reply.error.message), {
        name: reply.error.name,
        stack: reply.error.stack,
      });
    });
  }

  close(): Promise<void> {
    const all = this.threads.splice(0);
    return Promise.all(all.map((t) => t.worker.terminate())).then(() => undefined);
  }

  private pick(): Thread {
    const idle = this.threads.find((t) => t.busy === 0);
    if (idle) return idle;
    if (this.threads.length < this.max) return this.start();
    return this.threads.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  private start(): Thread {
    const file = path.join(packageRoot(), 'out', 'node', 'parquetThread.js');
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first.`);
    const thread: Thread = { worker: new Worker(file), busy: 0 };
    // It keeps the leader alive only while it decodes (see read).
    thread.worker.unref();
    thread.worker.on('message', (reply: DecodeReply) => {
      const w = this.waiting.get(reply.id);
      if (!w) return;
      this.waiting.delete(reply.id);
      if (--w.thread.busy === 0) w.thread.worker.unref();
      w.settle(reply);
    });
    // A thread that dies (out of memory) fails what it held; the next read starts another.
    const fail = (message: string) => {
      const i = this.threads.indexOf(thread);
      if (i >= 0) this.threads.splice(i, 1);
      for (const [id, w] of this.waiting)
        if (w.thread === thread) {
          this.waiting.delete(id);
          w.settle({ id, error: { name: 'Error', message } });
        }
    };
    thread.worker.on('error', (err) => fail(`the parquet decoding thread failed: ${err.message}`));
    thread.worker.on('exit', (code) => fail(`the parquet decoding thread ended (exit code ${code})`));
    this.threads.push(thread);
    return thread;
  }
}
