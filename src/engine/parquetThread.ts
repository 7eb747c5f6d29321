// A thread of the leader that decodes parquet mini-batches for the Python workers it hosts
// (src/engine/parquetThreads.ts): hyparquet is JavaScript, ~50 ms for 70,000 rows, which must not
// run on the leader's own thread. It reads what the worker process would have read, the same way.

import { parentPort } from 'node:worker_threads';
import type { BatchSource, Table } from '../common/minibatch';
import { readTableForPython, type ColumnTable } from '../runtime/tables';

export interface DecodeRequest {
  id: number;
  sources: BatchSource[];
}
export type DecodeReply =
  | { id: number; table: Table | ColumnTable }
  | { id: number; error: { name: string; message: string; stack?: string } };

const port = parentPort;
if (!port) throw new Error('parquetThread.js runs as a worker thread of the leader');

port.on('message', (req: DecodeRequest) => {
  void (async () => {
    try {
      const table = await readTableForPython(req.sources);
      port.postMessage({ id: req.id, table } satisfies DecodeReply);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      port.postMessage({
        id: req.id,
        error: { name: e.name, message: e.message, stack: e.stack },
      } satisfies DecodeReply);
    }
  })();
});
