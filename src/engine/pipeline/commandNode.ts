// A command node: its `command:` run by a shell in its `code:` folder, with the job's interpreter on
// PATH as `python` and `python3` (published components say `python x.py`), its inputs and outputs
// substituted as paths and values, and everything it prints in logs/std_log.txt (Azure ML's name).

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { inheritedEnv } from '../childEnv';
import { pythonResourcesDir } from '../../runtime/paths';
import { shellQuote, substitute } from './expressions';
import type { Binding, CommandNode } from './types';

export interface CommandResult {
  ok: boolean;
  cancelled: boolean;
  reason?: string;
  /** Absolute. */
  logFile: string;
}

export interface CommandRun {
  done: Promise<CommandResult>;
  cancel(): void;
}

const SHELL = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';

/**
 * How the command line ($1) runs: beside it, in its process group, a watch reads fd 3, a pipe whose
 * other end only prs holds. When prs ends, even by SIGKILL (when no exit handler runs), the pipe
 * closes and the watch kills the group: a command node never outlives the run that started it.
 * The command itself does not get the pipe, and runs as `$SHELL -c line` did (same pid, exit code).
 */
const WATCHED = `(read -r _ <&3; kill -9 0) </dev/null >/dev/null 2>&1 & exec 3<&-; exec ${SHELL} -c "$1"`;

/** The command line with every `${{inputs.x}}` and `${{outputs.y}}` replaced (paths quoted where a shell needs it). */
export function commandLine(
  node: CommandNode,
  nodeDir: string,
  bindingValue: (b: Binding) => string,
): string {
  return substitute(node.command, (ref) => {
    if (ref.kind === 'input') {
      const b = node.inputs[ref.name];
      if (!b) return undefined;
      return b.kind === 'literal' ? b.value : shellQuote(bindingValue(b));
    }
    if (ref.kind === 'output') {
      const o = node.outputs[ref.name];
      return o ? shellQuote(path.join(nodeDir, o.rel)) : undefined;
    }
    return undefined;
  });
}

export async function runCommandNode(
  node: CommandNode,
  nodeDir: string,
  binDir: string,
  bindingValue: (b: Binding) => string,
): Promise<CommandRun> {
  const logFile = path.join(nodeDir, 'logs', 'std_log.txt');
  await mkdir(path.dirname(logFile), { recursive: true });
  // Outputs exist before the command runs, as Azure ML's mounted outputs do.
  for (const o of Object.values(node.outputs)) {
    const abs = path.join(nodeDir, o.rel);
    await mkdir(o.kind === 'folder' ? abs : path.dirname(abs), { recursive: true });
  }
  const line = commandLine(node, nodeDir, bindingValue);
  const env: Record<string, string> = {
    ...inheritedEnv(),
    ...node.environmentVariables,
    PYTHONUNBUFFERED: '1',
  };
  env.PATH = [binDir, env.PATH].filter(Boolean).join(path.delimiter);
  // The compatibility packages (mltable, mlflow, azureml) for scripts written for Azure ML, as a
  // worker gets them; each hands over to a real installed package of its name (prs_fallback.py).
  env.PYTHONPATH = [pythonResourcesDir(), env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  const log = createWriteStream(logFile, { flags: 'a' });
  log.write(`$ ${line}\n`);
  const child = spawn(SHELL, ['-c', WATCHED, 'prs-command', line], {
    cwd: node.code,
    env,
    // fd 3: the watch's pipe (see WATCHED); only this process holds its other end.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    // Its own process group: a cancel stops what the command started too.
    detached: true,
  });
  // The command is over: the watch ends the group, and with it whatever the command left running
  // (as a finished Azure ML command job's container does).
  child.on('exit', () => (child.stdio[3] as Writable | null)?.destroy());
  // prs quitting at once (a second Ctrl-C) must not leave the command's group running on its own.
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.on('exit', killGroup);
  child.on('close', () => process.off('exit', killGroup));
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  let cancelled = false;
  const done = new Promise<CommandResult>((resolve) => {
    child.on('error', (err) => {
      log.end();
      resolve({ ok: false, cancelled, reason: `${SHELL} could not start (${err.message})`, logFile });
    });
    child.on('close', (code, signal) => {
      log.end(async () => {
        if (code === 0) return resolve({ ok: true, cancelled: false, logFile });
        const how = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
        const last = await lastLine(logFile);
        resolve({
          ok: false,
          cancelled,
          reason: cancelled
            ? 'Cancelled by the user.'
            : `the command ${how}${last ? `; its last output line: ${last}` : ''}`,
          logFile,
        });
      });
    });
  });
  return {
    done,
    cancel() {
      cancelled = true;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}

async function lastLine(file: string): Promise<string | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const last = lines.at(-1);
  return last && !last.startsWith('$ ') ? last.slice(0, 300) : undefined;
}

/** A folder with `python` and `python3` for the job's interpreter, put first on command nodes' PATH. */
export async function interpreterBin(binDir: string, interpreter: string): Promise<void> {
  await mkdir(binDir, { recursive: true });
  for (const name of ['python', 'python3']) {
    const link = path.join(binDir, name);
    if (!existsSync(link)) await symlink(interpreter, link).catch(() => undefined);
  }
}
