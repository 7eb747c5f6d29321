// The worker thread a search runs in (src/host/outputSearch.ts, searchOffThread): a user's
// regular expression can take exponential time on one line, and here that stalls only this thread,
// which the host terminates, never the host's event loop.

import { parentPort, workerData } from 'node:worker_threads';
import { searchFile, type SearchRequest, type SearchWorkerMessage } from './outputSearch';

const port = parentPort;
if (!port) throw new Error('searchWorker.js runs as a worker thread of the host');
const post = (m: SearchWorkerMessage) => port.postMessage(m);
const req = workerData as SearchRequest;

post({ t: 'alive' });
searchFile(req.file, {
  ...req,
  progress: (p) => post({ t: 'progress', ...p }),
  chunkDone: () => post({ t: 'alive' }),
})
  .then((result) => post({ t: 'done', result }))
  .catch((err: unknown) => post({ t: 'error', message: err instanceof Error ? err.message : String(err) }));
