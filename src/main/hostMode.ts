// Where the desktop app's AppHost runs. Native modules (better-sqlite3, node-pty) load only under the
// ABI they were built for. `npm install` builds them for Node: the host then runs in a plain Node
// child process (hostProcess.ts) and main keeps the window ('host-process'). A packaged app has them
// rebuilt for Electron (electron-builder's install-app-deps) and no `node` to start: the host runs in
// main, its workers as utility processes ('main'). Which of the two holds is asked of a child, never
// of main: a module built for the wrong ABI may take the loading process down.

import { execFile } from 'node:child_process';

export type HostMode = 'main' | 'host-process';

export interface HostModeDecision {
  mode: HostMode;
  /** For the log: what decided it. */
  why: string;
}

export type NativeProbe = { ok: true } | { ok: false; error: string };

const OVERRIDES: Record<string, HostMode> = { main: 'main', process: 'host-process' };

/** PRS_HOST_MODE=main|process forces a mode (diagnosis); anything else leaves it to the probe. */
export function forcedHostMode(value: string | undefined): HostMode | null {
  return (value && OVERRIDES[value]) || null;
}

/** The probe is run only when no mode is forced (null: not run). */
export function chooseHostMode(forced: HostMode | null, probe: NativeProbe | null): HostModeDecision {
  if (forced) return { mode: forced, why: `PRS_HOST_MODE forces ${forced}` };
  if (probe?.ok) return { mode: 'main', why: "the native modules load under Electron's ABI" };
  return {
    mode: 'host-process',
    why: `the native modules do not load under Electron's ABI${probe ? ` (${probe.error})` : ''}`,
  };
}

/** Set in the probe's environment: the app's main (see index.ts) refuses to start with it. */
export const PROBE_MARKER = 'PRS_NATIVE_PROBE';

const PROBE_OK = 'prs-native-ok';

// Loads both modules the way the engine does (better-sqlite3 opens its binding on first use), from
// the package's own node_modules; argv[1] is the package root.
const PROBE_SCRIPT = [
  "const r = require('node:module').createRequire(require('node:path').join(process.argv[1], 'package.json'));",
  "new (r('better-sqlite3'))(':memory:').close();",
  "r('node-pty');",
  `process.stdout.write('${PROBE_OK}');`,
].join('\n');

export interface ProbeOptions {
  /** Electron's own executable (process.execPath in main), run as Node. */
  execPath: string;
  packageRoot: string;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Whether better-sqlite3 and node-pty load under `execPath`'s ABI, asked of a child process. */
export function probeNativeModules(options: ProbeOptions): Promise<NativeProbe> {
  const env = { ...options.env, ELECTRON_RUN_AS_NODE: '1', [PROBE_MARKER]: '1' };
  return new Promise((resolve) => {
    execFile(
      options.execPath,
      ['-e', PROBE_SCRIPT, options.packageRoot],
      { env, timeout: options.timeoutMs ?? 15_000, windowsHide: true },
      (err, stdout, stderr) => {
        if (!err && stdout === PROBE_OK) return resolve({ ok: true });
        // The loader's message names the module and the ABI (NODE_MODULE_VERSION) it wanted.
        const line = /Error: .*/.exec(stderr)?.[0] ?? err?.message.split('\n')[0] ?? 'no answer';
        resolve({ ok: false, error: line.slice(0, 300) });
      },
    );
  });
}
