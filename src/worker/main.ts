// A worker process: hosts one runtime for its whole life (see src/runtime/lifecycle.ts: init()
// once, then one mini-batch at a time from a small queue the leader keeps filled, then shutdown()
// on a clean stop). This entry point wires the lifecycle to the process's pipes, and is the one
// place that ends the process.

import type { LeaderMessage } from '../common/protocol';
import { WorkerLifecycle } from '../runtime/lifecycle';
import {
  hasInputPipe,
  readLeaderLines,
  resultSocketPath,
  sendToLeader,
  whenLeaderGone,
} from '../runtime/channel';
import type { WorkerEnd } from '../runtime/python/runtime';
import { EXIT_SELF_STOP } from '../runtime/runtime';
import { spillLargeLines } from '../runtime/spillLines';

/** Where a big return's lines go instead of the message (src/runtime/spillLines.ts). */
const spillDir = process.env.PRS_SPILL_DIR || undefined;

const lifecycle = new WorkerLifecycle(
  {
    send: (message) => sendToLeader(spillLargeLines(message, spillDir)),
    stderr: (text) => void process.stderr.write(text),
    pid: () => process.pid,
    // Let the channel deliver what was sent before the process goes.
    end: (code) => void setImmediate(() => process.exit(code)),
  },
  // Each runtime loads only what it needs: a Node worker never loads node-pty, a Python one never
  // loads the parquet reader.
  async (config) => {
    if (config.runtime !== 'python') return new (await import('../runtime/nodeRuntime')).NodeRuntime(config);
    const { PythonRuntime, workerEndFor } = await import('../runtime/python/runtime');
    return new PythonRuntime(config, {
      // The driver writes results to the leader's socket itself; without one they come here.
      resultSocket: resultSocketPath,
      onResults: (results) => sendToLeader({ t: 'results', results }),
      onInterpreterExit: (exit) => endLike(workerEndFor(exit)),
    });
  },
);

/**
 * The interpreter ended on its own after init() (os._exit, a segfault, the OOM killer): this
 * process ends the same way, so the leader sees the crash (and its returncode) and replaces it.
 */
function endLike(end: WorkerEnd): void {
  process.stderr.write(end.message);
  if (end.signal) {
    try {
      process.kill(process.pid, end.signal);
    } catch {
      // fall through to a plain exit
    }
    // Some signals (SIGSEGV under V8's trap handler) do not end a Node process when sent by kill().
    setTimeout(() => process.exit(end.code), 200);
    return;
  }
  process.exit(end.code);
}

// Forked by the engine's ForkLauncher, the leader's messages arrive as JSON lines on a pipe of their
// own (see src/engine/launcher.ts); otherwise on the IPC message channel.
if (hasInputPipe) readLeaderLines((message) => lifecycle.handle(message));
else process.on('message', (raw) => lifecycle.handle(raw as LeaderMessage));

// The leader going away (a crash of the host) must not leave orphans running user code.
process.on('disconnect', () => process.exit(EXIT_SELF_STOP));
whenLeaderGone(() => process.exit(EXIT_SELF_STOP));
