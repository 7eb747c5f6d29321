// Runs inside an Electron utilityProcess: makes parentPort look like the child_process IPC channel
// the worker bundle expects (process.send / process.on('message') / 'disconnect'), then loads it.
// argv: [.., shim, workerBundle, processName].

import { pathToFileURL } from 'node:url';

interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const port = (process as unknown as { parentPort?: ParentPort }).parentPort;
if (!port) {
  console.error('workerShim: not running in a utilityProcess');
  process.exit(1);
}
const proc = process as unknown as { send: (m: unknown) => boolean; connected: boolean };
proc.send = (m: unknown) => {
  port.postMessage(m);
  return true;
};
proc.connected = true;
port.on('message', (e) => process.emit('message', e.data as never, undefined as never));

const workerBundle = process.argv[2];
// The worker reads its process name from argv[2], as under child_process.fork.
process.argv.splice(2, 1);
await import(pathToFileURL(workerBundle).href);
