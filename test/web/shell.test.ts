// "Shell here": a real pseudo-terminal in a worker's environment.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../../src/common/spec';
import { ShellSessions } from '../../src/server/web/shell';
import { tempDir } from '../helpers';
import { makeSpec } from '../partition/helpers';

function spec(dir: string): JobSpec {
  return makeSpec([], {
    name: 'shell-job',
    entry_script: path.join(dir, 'score.py'),
    source_directory: dir,
    python: '/usr/bin/python3',
    environment_variables: { JOB_SETTING: 'from-the-spec' },
  });
}

describe('Shell here', () => {
  it('opens a shell in the worker environment: variables, GPU, working directory, interpreter, azureml package', async () => {
    const dir = tempDir();
    const shells = new ShellSessions();
    let out = '';
    let exited: (code: number | null) => void = () => undefined;
    const exit = new Promise<number | null>((r) => (exited = r));
    const id = shells.open(spec(dir), 1, 'process003', 120, 30, {
      data: (d) => (out += d),
      exit: (code) => exited(code),
    });
    shells.input(
      id,
      'echo "V=$JOB_SETTING G=$CUDA_VISIBLE_DEVICES P=$PRS_PROCESS_NAME D=$(pwd)"; ' +
        'which python3; python3 -c \'import azureml_user.parallel_run; print("AZ=" + "ok")\'; exit 3\n',
    );
    expect(await exit).toBe(3);
    expect(out).toContain(`V=from-the-spec G=1 P=process003 D=${dir}`);
    // The job's interpreter comes first, whatever ~/.bashrc puts on PATH.
    expect(out).toMatch(/^\/usr\/bin\/python3\r?$/m);
    expect(out).toContain('AZ=ok');
  });
});
