// Runs inside an Electron utilityProcess: makes parentPort look like the child_process IPC channel
// the worker bundle falls back on without ForkLauncher's pipes (process.send, process.on('message'),
// 'disconnect'), then loads it. argv: [.., shim, workerBundle, processName].

import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): unknown;
  postMessage(message: unknown): void;
}

// How often to look for the parent having gone: parentPort has no event for it.
const ORPHAN_CHECK_MS = 1000;

// The launcher tells an exit(9) from a SIGKILL by this note: only an exit runs 'exit' handlers.
const exitNote = process.env.PRS_EXIT_NOTE;
delete process.env.PRS_EXIT_NOTE;
if (exitNote) {
  process.on('exit', (code) => {
    try {
      writeFileSync(exitNote, String(code));
    } catch {
      // Reported as a signal if the code is one; nothing better to do from an exit handler.
    }
  });
}

const port = (process as { parentPort?: ParentPort }).parentPort;
if (!port) {
  console.error('workerShim: not running in a utilityProcess (no process.parentPort)');
  process.exit(1);
}

process.send = ((message: unknown) => {
  port.postMessage(message);
  return true;
}) as typeof process.send;

// Electron ends its utility processes when the app quits; should main die without that, this one
// is reparented: the worker then hears that its leader is gone ('disconnect': it stops).
const parent = process.ppid;
const orphanCheck = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(orphanCheck);
  process.emit('disconnect');
}, ORPHAN_CHECK_MS);
orphanCheck.unref();

const workerBundle = process.argv[2]!;
// The worker finds its process name at argv[2], as under child_process.fork.
process.argv.splice(2, 1);
await import(pathToFileURL(workerBundle).href);
// Only now that the worker listens: parentPort holds what arrives until its first listener, where
// process.emit would drop a message (the leader's init) that came while the worker was loading.
port.on('message', (e) => process.emit('message', e.data, undefined));
