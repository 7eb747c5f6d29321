// The desktop app's two ways to run the AppHost (see hostMode.ts), behind one shape for index.ts:
// the target the window's IPC calls reach, and how to stop it with its runs' workers.

import type { AppEvent } from '../common/contract';
import { HostBridge, type HostBridgeOptions } from './hostBridge';
import type { IpcTarget } from './ipc';
import { UtilityProcessLauncher, type UtilityProcessModule } from './utilityLauncher';

export interface RunningHost {
  readonly target: IpcTarget;
  /** Stops the runs' workers; safe to call more than once. */
  close(): Promise<void>;
}

export interface MainHostOptions {
  utility: UtilityProcessModule;
  /** out/main/workerShim.js */
  shimPath: string;
  /** out/node/worker.js */
  workerPath: () => string;
  examplesDir: string;
  runsDir?: string;
  onEvent(event: AppEvent): void;
}

/** The AppHost in this process, its workers utility processes. */
export async function startMainHost(options: MainHostOptions): Promise<RunningHost> {
  // Loaded only in this mode: the engine opens better-sqlite3, which must never load under an ABI
  // it was not built for.
  const { AppHost } = await import('../host/appHost');
  const host = new AppHost({
    examplesDir: options.examplesDir,
    runsDir: options.runsDir,
    launcher: new UtilityProcessLauncher(options.utility, options.shimPath, options.workerPath),
  });
  const conn = host.connect(options.onEvent);
  let closing: Promise<void> | undefined;
  return {
    target: conn,
    close: () => {
      if (!closing) {
        conn.close();
        closing = host.close();
      }
      return closing;
    },
  };
}

/** The AppHost in a plain Node child process (hostProcess.ts), relayed by a HostBridge. */
export function startHostProcess(options: HostBridgeOptions): RunningHost {
  const bridge = new HostBridge(options);
  return {
    target: bridge,
    // The host stops its runs' workers, then exits by itself.
    close: async () => bridge.close(),
  };
}
