// Electron main's bridge to the host process, with a real host process under plain Node: the
// engine never loads under Electron's ABI, and the window gets the API contract unchanged.

import { fork } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AppEvent } from '../../src/common/contract';
import { HostBridge } from '../../src/main/hostBridge';
import { ROOT, tempDir } from '../helpers';

describe('HostBridge', () => {
  it('relays calls and events to a host process under plain Node, and stops it on close', async () => {
    const events: AppEvent[] = [];
    let exited: (code: number | null) => void = () => undefined;
    const exit = new Promise<number | null>((resolve) => (exited = resolve));
    const bridge = new HostBridge({
      fork,
      hostEntry: path.join(ROOT, 'out', 'node', 'host.js'),
      nodePath: process.execPath,
      env: { ...process.env, PRS_DATA_DIR: tempDir(), PRS_RUNS_DIR: tempDir() },
      onEvent: (e) => events.push(e),
      onExit: (code) => exited(code),
    });
    const examples = (await bridge.call('listExamples', {})) as Array<{ name: string }>;
    expect(examples.map((e) => e.name)).toContain('hello-files');
    // A request that fails in the host rejects in the window with the host's message.
    await expect(bridge.call('readSpecFile', { path: '/nonexistent/job.yaml' })).rejects.toThrow(
      /nonexistent/,
    );
    bridge.close();
    expect(await exit).toBe(0);
  });
});
