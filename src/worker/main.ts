// A worker process: hosts one runtime for its whole life. init() once, then one mini-batch at a
// time from a small queue the leader keeps filled (so a round trip never leaves it idle), then
// shutdown() on a clean stop. Everything it says goes through the typed protocol.

import type { MiniBatch } from '../common/minibatch';
import type { LeaderMessage, WorkerConfig } from '../common/protocol';
import { hasInputPipe, readLeaderLines, resultSocketPath, sendToLeader } from '../runtime/channel';
import { errorInfo } from '../runtime/errors';
import { EXIT_SELF_STOP, RuntimeError, type Runtime } from '../runtime/runtime';

const send = sendToLeader;

let runtime: Runtime | undefined;
let starting: Promise<void> | undefined;
let ready = false;
const queue: MiniBatch[] = [];
let draining = false;
let stopping = false;

async function start(config: WorkerConfig): Promise<void> {
  const t0 = performance.now();
  try {
    // Each runtime loads only what it needs: a Node worker never loads node-pty, a Python one
    // never loads the parquet reader.
    runtime =
      config.runtime === 'python'
        ? new (await import('../runtime/python/runtime')).PythonRuntime(config, {
            // The driver writes results to the leader's socket itself; without one they come here.
            resultSocket: resultSocketPath,
            onResults: (results) => send({ t: 'results', results }),
          })
        : new (await import('../runtime/nodeRuntime')).NodeRuntime(config);
    await runtime.init();
  } catch (err) {
    const error = err instanceof RuntimeError ? err.info : errorInfo(err);
    // Also on stderr, so the user's stderr log shows why the process stopped.
    process.stderr.write(`init() failed: ${error.traceback ?? `${error.type}: ${error.message}`}\n`);
    send({ t: 'init-failed', error });
    exitSoon(EXIT_SELF_STOP);
    return;
  }
  send({ t: 'ready', pid: process.pid, initMs: performance.now() - t0 });
  ready = true;
  void drain();
}

let lastYield = 0;

async function drain(): Promise<void> {
  if (draining || !runtime || !ready) return;
  if (runtime.submit) {
    // The runtime runs them in its own process and reports each result itself.
    if (queue.length > 0) runtime.submit(queue.splice(0));
    return;
  }
  draining = true;
  // process.cpuUsage() costs microseconds (a getrusage and an object), a real share of a trivial
  // mini-batch: read once per mini-batch, the end of one being the start of the next (what lies
  // between them is sending the result).
  let cpuMark = process.cpuUsage();
  while (queue.length > 0) {
    const batch = queue.shift()!;
    const startedAt = Date.now();
    const wall0 = performance.now();
    const cpu0 = cpuMark;
    const outcome = await runtime.run(batch);
    cpuMark = process.cpuUsage();
    const cpuUs = cpuMark.user - cpu0.user + (cpuMark.system - cpu0.system);
    const times = {
      startedAt,
      elapsedMs: performance.now() - wall0,
      cpuMs: outcome.cpuMs ?? cpuUs / 1000,
      runMs: outcome.runMs,
    };
    // Each result leaves before the next mini-batch starts: if that one takes the process down, the
    // leader must know exactly which mini-batch it was running.
    if (outcome.ok) {
      send({
        t: 'results',
        results: [
          {
            status: 'done',
            id: batch.id,
            itemsTotal: outcome.itemsTotal,
            itemsSucceeded: outcome.itemsSucceeded,
            lines: outcome.lines,
            times,
            warning: outcome.warning,
          },
        ],
      });
    } else {
      const e = outcome.error;
      process.stderr.write(`mini-batch ${batch.id} failed: ${e.traceback ?? `${e.type}: ${e.message}`}\n`);
      send({
        t: 'results',
        results: [{ status: 'failed', id: batch.id, itemsTotal: outcome.itemsTotal, error: e, times }],
      });
    }
    // Let the event loop read the leader's messages: awaiting run() alone only yields to
    // microtasks, and a channel left unread makes the leader's writes block.
    if (performance.now() - lastYield > 1) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  }
  draining = false;
  if (stopping) await stop();
}

async function stop(): Promise<void> {
  // A stop that arrives during init() waits for it: shutdown() always follows a finished init().
  await starting;
  try {
    await runtime?.shutdown();
  } catch (err) {
    const e = errorInfo(err);
    process.stderr.write(`shutdown() failed: ${e.traceback ?? e.message}\n`);
  }
  exitSoon(0);
}

function exitSoon(code: number): void {
  // Let the IPC channel deliver what was sent before the process goes.
  setImmediate(() => process.exit(code));
}

function onLeaderMessage(message: LeaderMessage): void {
  switch (message.t) {
    case 'init':
      starting = start(message.config);
      break;
    case 'run':
      queue.push(...message.batches);
      void drain();
      break;
    case 'stop':
      stopping = true;
      queue.length = 0;
      if (!draining) void stop();
      break;
  }
}

// Forked by the engine's ForkLauncher, the leader's messages arrive as JSON lines on a pipe of their
// own (see src/engine/launcher.ts); otherwise on the IPC message channel.
if (hasInputPipe) readLeaderLines(onLeaderMessage);
else process.on('message', (raw) => onLeaderMessage(raw as LeaderMessage));

// The leader going away (a crash of the host) must not leave orphans running user code.
process.on('disconnect', () => process.exit(EXIT_SELF_STOP));
