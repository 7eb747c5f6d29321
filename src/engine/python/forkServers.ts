// A run's fork servers (src/runtime/python/forkServer.ts), one per interpreter, and what they
// preload: pandas for tables, the entry script's own module-level imports (read by the server), and
// what this entry script's workers imported during init() the last time it ran with this
// interpreter: a pickled scikit-learn model imports scikit-learn only when init() unpickles it,
// which no reading of the script can tell. Only modules on the server's PRELOADABLE list are ever
// imported, whatever the memory file says.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkerConfig } from '../../common/protocol';
import { ForkServer } from '../../runtime/python/forkServer';
import { dataDir } from '../history';

/**
 * Linux only: on macOS, system frameworks that numpy and friends load (Accelerate, the Objective-C
 * runtime) are not safe to fork after import, and Windows has no fork. PRS_PYTHON_FORK=0 turns it
 * off (every worker a fresh interpreter, as before).
 */
export function forkServersEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return process.platform === 'linux' && env.PRS_PYTHON_FORK !== '0';
}

/** The worker's own variables, which the server (shared by all) must not take for its own. */
const PER_WORKER = [
  'PRS_CONTROL_SOCKET',
  'PRS_STATE_FILE',
  'PRS_RESULT_SOCKET',
  'PRS_PRELOAD',
  'PRS_PROCESS_NAME',
  'CUDA_VISIBLE_DEVICES',
];

export class ForkServers {
  private readonly servers = new Map<string, ForkServer>();
  private readonly memory: PreloadMemory;
  private remembered = false;

  constructor(memoryFile = path.join(dataDir(), 'python-preloads.json')) {
    this.memory = new PreloadMemory(memoryFile);
  }

  /** The server for this interpreter and entry script, started by the first worker that asks. */
  for(python: string, env: Record<string, string>, config: WorkerConfig): ForkServer {
    const key = `${python}\n${config.entryScript}`;
    let server = this.servers.get(key);
    if (!server) {
      const own = { ...env };
      for (const name of PER_WORKER) delete own[name];
      server = new ForkServer({
        python,
        env: own,
        cwd: config.sourceDirectory,
        entryScript: config.entryScript,
        preload: [...(config.tabular ? ['pandas'] : []), ...this.memory.get(memoryKey(config))],
      });
      this.servers.set(key, server);
    }
    return server;
  }

  /** What a worker had imported once init() returned, for the next run of this script. */
  learned(config: WorkerConfig, imported: string[]): void {
    if (this.remembered || !config.python) return;
    this.remembered = true;
    this.memory.set(memoryKey(config), imported);
  }

  /** For run.json: how the Python workers were started, and what each server preloaded. */
  describe(): Array<
    | { python: string; preloaded: string[]; preloadMs: number }
    | { python: string; preloaded: null; failure?: string }
  > {
    return [...this.servers.entries()].map(([key, server]) => {
      const python = key.split('\n')[0]!;
      const p = server.preloaded;
      if (p) return { python, preloaded: p.modules, preloadMs: p.ms };
      // Its workers started fresh: run.json says why, where the server said (a traceback).
      const failure = server.failure;
      return failure ? { python, preloaded: null, failure } : { python, preloaded: null };
    });
  }

  async stop(): Promise<void> {
    const stopping = [...this.servers.values()].map((server) => server.stop());
    this.servers.clear();
    await Promise.all(stopping);
  }
}

const memoryKey = (config: WorkerConfig) => `${config.python}\n${config.entryScript}`;

/** Most entries kept: one per interpreter and entry script, the most recent first. */
const MAX_ENTRIES = 200;

/** A small JSON file of module names per key; unreadable or odd, it is as good as empty. */
class PreloadMemory {
  constructor(private readonly file: string) {}

  get(key: string): string[] {
    const value = this.read()[key];
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  }

  set(key: string, modules: string[]): void {
    const all = this.read();
    if (JSON.stringify(all[key]) === JSON.stringify(modules)) return;
    const next: Record<string, unknown> = { [key]: modules };
    for (const [k, v] of Object.entries(all)) {
      if (k !== key && Object.keys(next).length < MAX_ENTRIES) next[k] = v;
    }
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const temp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(temp, JSON.stringify(next, null, 1));
      renameSync(temp, this.file);
    } catch {
      // A cache: the next run imports in its workers, as without it.
    }
  }

  private read(): Record<string, unknown> {
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.file, 'utf8'));
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : {};
    } catch {
      return {};
    }
  }
}
