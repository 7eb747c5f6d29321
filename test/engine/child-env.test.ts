// What the host passes on from its own environment to the processes it starts (src/engine/childEnv.ts):
// real processes echo back what they got. The host here is this test process, given an LD_PRELOAD,
// a PYTHONSTARTUP and a BASH_ENV of the kind a careless or hostile start-up could leave in it.

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { JobSpec } from '../../src/common/spec';
import { NEVER_INHERITED } from '../../src/engine/childEnv';
import { runNvidiaSmi } from '../../src/engine/devices/nvidiaSmi';
import { checkPython } from '../../src/engine/python/preflight';
import { startRun } from '../../src/engine/run';
import { checkInterpreter } from '../../src/host/wizard';
import { DEBIAN_PYTHON, tempDir, writeFiles } from '../helpers';
import { makeSpec } from '../partition/helpers';

const HOSTILE = {
  // A library that does not exist: the loader warns and goes on, the variable stays visible.
  LD_PRELOAD: '/nonexistent/prs-test-preload.so',
  NODE_OPTIONS: '--no-warnings',
  PYTHONSTARTUP: '', // set per test: a file writing a marker
  BASH_ENV: '', // set per test: a file writing a marker
};
const saved: Record<string, string | undefined> = {};
let dir: string;
let startupMark: string;
let bashEnvMark: string;

beforeEach(() => {
  dir = tempDir();
  startupMark = path.join(dir, 'pythonstartup-ran');
  bashEnvMark = path.join(dir, 'bash-env-ran');
  writeFileSync(path.join(dir, 'startup.py'), `open(${JSON.stringify(startupMark)}, "w").write("ran")\n`);
  writeFileSync(path.join(dir, 'bash_env.sh'), `echo ran > ${JSON.stringify(bashEnvMark)}\n`);
  const env = {
    ...HOSTILE,
    PYTHONSTARTUP: path.join(dir, 'startup.py'),
    BASH_ENV: path.join(dir, 'bash_env.sh'),
  };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/**
 * An "interpreter" that writes the environment it was given to a file, then runs Debian's Python
 * interactively first (so a PYTHONSTARTUP it was given runs) and then as asked. A bash script, so
 * a BASH_ENV it was given runs too.
 */
function envDumpingPython(): { python: string; envFile: string } {
  const envFile = path.join(dir, 'probe-env.txt');
  const python = path.join(dir, 'python3');
  writeFileSync(
    python,
    `#!/bin/bash\nenv > ${JSON.stringify(envFile)}\n${DEBIAN_PYTHON} -i < /dev/null > /dev/null 2>&1\nexec ${DEBIAN_PYTHON} "$@"\n`,
  );
  chmodSync(python, 0o755);
  return { python, envFile };
}

function envOf(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

function expectNoneInherited(env: Record<string, string>): void {
  for (const key of NEVER_INHERITED) expect(env[key], key).toBeUndefined();
  expect(existsSync(startupMark), 'PYTHONSTARTUP ran').toBe(false);
  expect(existsSync(bashEnvMark), 'BASH_ENV ran').toBe(false);
}

function jobSpec(over: Partial<JobSpec>): JobSpec {
  writeFiles(dir, { 'data/a.txt': 'a' });
  return makeSpec([{ path: path.join(dir, 'data'), type: 'files' }], {
    name: 'child-env',
    spec_path: path.join(dir, 'job.yaml'),
    source_directory: dir,
    mini_batch_size: 1,
    allow_reuse: false,
    ...over,
  });
}

describe('processes the host starts do not inherit its injection variables', () => {
  test('the stand-in sees them when they are passed (the test can fail)', () => {
    const { python, envFile } = envDumpingPython();
    execFileSync(python, ['-c', 'pass'], { env: process.env });
    expect(envOf(envFile).LD_PRELOAD).toBe(HOSTILE.LD_PRELOAD);
    expect(existsSync(startupMark)).toBe(true);
    expect(existsSync(bashEnvMark)).toBe(true);
  });

  test("the run's interpreter check gets the spec's variables, none of the host's injected ones", async () => {
    const { python, envFile } = envDumpingPython();
    const r = await checkPython(
      jobSpec({ runtime: 'python', python, environment_variables: { FROM_SPEC: 'yes' } }),
    );
    expect(r.ok).toBe(true);
    const env = envOf(envFile);
    expect(env.FROM_SPEC).toBe('yes');
    expectNoneInherited(env);
  });

  test("the wizard's interpreter check gets neither the host's injected variables nor any spec's", async () => {
    const { python, envFile } = envDumpingPython();
    const info = await checkInterpreter(python, python, dir);
    expect(info.error).toBeNull();
    expect(info.version).toMatch(/^3\./);
    expectNoneInherited(envOf(envFile));
  });

  test("workers get the spec's own variables (even one on the list), not the host's", async () => {
    const script = path.join(dir, 'score.py');
    writeFileSync(
      script,
      'import os\n\ndef run(mini_batch):\n' +
        '    keys = ["LD_PRELOAD", "NODE_OPTIONS", "PYTHONSTARTUP", "BASH_ENV", "FROM_SPEC"]\n' +
        '    return [" ".join("%s=%s" % (k, os.environ.get(k, "-")) for k in keys)]\n',
    );
    const spec = jobSpec({
      entry_script: script,
      runtime: 'python',
      python: DEBIAN_PYTHON,
      // The user's own choice, in the spec: it reaches the workers.
      environment_variables: { FROM_SPEC: 'yes', NODE_OPTIONS: '--max-old-space-size=4096' },
    });
    const handle = await startRun(spec, { runsDir: path.join(dir, 'runs') });
    const summary = await handle.done;
    expect(summary.status).toBe('completed');
    const out = readFileSync(summary.output_file!, 'utf8');
    expect(out).toContain(
      'LD_PRELOAD=- NODE_OPTIONS=--max-old-space-size=4096 PYTHONSTARTUP=- BASH_ENV=- FROM_SPEC=yes',
    );
  });

  test('nvidia-smi gets none of them, whatever environment its caller passes', async () => {
    const bin = path.join(dir, 'bin');
    writeFiles(bin, { 'nvidia-smi': '#!/bin/sh\necho "LD=${LD_PRELOAD-unset} PS=${PYTHONSTARTUP-unset}"\n' });
    chmodSync(path.join(bin, 'nvidia-smi'), 0o755);
    const r = await runNvidiaSmi(['-L'], { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` });
    expect(r.stdout.trim()).toBe('LD=unset PS=unset');
  });
});
