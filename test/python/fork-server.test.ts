// The fork server (resources/python/prs_fork_server.py, src/runtime/python/forkServer.ts): real
// `prs run` commands with Debian's python3, each worker reporting from inside what it sees. A
// forked worker must be what a fresh interpreter was: its own environment, folder, session,
// terminal and random numbers, the script's own modules first; only the imports are shared.

import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEBIAN_PYTHON, collect, prs, startPrs, tempDir, writeFiles } from '../helpers';
import { waitFor } from './helpers';
import { ForkServer } from '../../src/runtime/python/forkServer';

/**
 * What each worker reports, one line per mini-batch: its name, the preloadable modules already
 * imported before the script's first line ran, and the checks named in FIELDS.
 */
const REPORT = `
import os, sys, time
PRELOADED = ",".join(sorted(n for n in ("numpy", "pandas", "sklearn", "sklearn.linear_model", "yaml") if n in sys.modules)) or "-"
BARRIER = os.environ["BARRIER"]
WORKERS = int(os.environ.get("WORKERS", "2"))

def _parent():
    with open("/proc/%d/cmdline" % os.getppid(), "rb") as f:
        cmd = f.read().decode()
    return "fork-server" if "prs_fork_server.py" in cmd else "prs" if "prs" in cmd else cmd

def _wait_for_everyone():
    # Every worker runs a mini-batch: the first waits until all have passed init().
    open(os.path.join(BARRIER, os.environ["PRS_PROCESS_NAME"]), "w").close()
    end = time.time() + 30
    while len(os.listdir(BARRIER)) < WORKERS and time.time() < end:
        time.sleep(0.02)
`;

function job(script: string, extra: Record<string, string> = {}, spec: Record<string, unknown> = {}) {
  const dir = tempDir('prs-fork-');
  const files: Record<string, string> = { 'src/score.py': script, ...extra };
  for (let i = 0; i < 4; i++) files[`data/f${i}.txt`] = `item ${i}\n`;
  writeFiles(dir, files);
  const barrier = path.join(dir, 'barrier');
  mkdirSync(barrier);
  const specPath = path.join(dir, 'job.json');
  writeFileSync(
    specPath,
    JSON.stringify({
      name: 'fork-job',
      entry_script: 'score.py',
      source_directory: './src',
      python: DEBIAN_PYTHON,
      inputs: [{ path: './data', type: 'files' }],
      mini_batch_size: 1,
      process_count_per_node: 2,
      run_invocation_timeout: 60,
      allow_reuse: false,
      ...spec,
      environment_variables: { BARRIER: barrier, ...(spec.environment_variables ?? {}) },
    }),
  );
  return { dir, specPath };
}

async function run(specPath: string, dir: string, env: NodeJS.ProcessEnv = {}) {
  const r = await prs(['run', specPath, '--json', '--runs-dir', path.join(dir, 'runs')], { env });
  expect(r.code, r.stderr).toBe(0);
  const runDir = r.json!.run_dir as string;
  const lines = readFileSync(path.join(runDir, 'outputs', 'parallel_run_step.txt'), 'utf8')
    .trim()
    .split('\n');
  return { runDir, lines: lines.map((l) => l.split(' ')) };
}

/** CPU seconds of the processes this one has waited for, and theirs (cutime + cstime). */
function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

describe('the fork server', () => {
  it("forks every worker with its own environment, folder, session, terminal and numpy draws; the script's own modules come first", async () => {
    const { dir, specPath } = job(
      `${REPORT}
import numpy as np
import yaml

def init():
    global draw
    draw = repr(float(np.random.random()))

def run(mini_batch):
    _wait_for_everyone()
    return ["%s %s %s %s %s %s %s %s" % (os.environ["PRS_PROCESS_NAME"], PRELOADED, _parent(),
            os.getcwd() == os.path.dirname(os.path.abspath(__file__)), sys.stdout.isatty(),
            os.getsid(0) == os.getpid(), yaml.WHOSE, draw) for _ in mini_batch]
`,
      // A local yaml.py shadows the installed PyYAML: the server must not import PyYAML for it.
      { 'src/yaml.py': 'WHOSE = "local-yaml"\n' },
    );
    const { lines } = await run(specPath, dir, { PRS_DATA_DIR: tempDir('prs-data-') });
    expect(lines).toHaveLength(4);
    const byWorker = new Map(lines.map((l) => [l[0], l]));
    expect([...byWorker.keys()].sort()).toEqual(['process000', 'process001']);
    for (const [, preloaded, parent, cwd, tty, session, whose] of byWorker.values()) {
      expect([preloaded, parent, cwd, tty, session, whose]).toEqual([
        'numpy',
        'fork-server',
        'True',
        'True',
        'True',
        'local-yaml',
      ]);
    }
    // Each worker's numpy generator was seeded in the worker, not inherited from the server.
    expect(byWorker.get('process000')![7]).not.toBe(byWorker.get('process001')![7]);
  });

  it('ends a worker as an exit would: atexit handlers, unclosed files flushed, a running thread waited for, the collector on', async () => {
    const out = tempDir('prs-exit-');
    const { dir, specPath } = job(
      `${REPORT}
import atexit, gc, threading, time
OUT = ${JSON.stringify(out)}

def init():
    global unclosed
    name = os.environ["PRS_PROCESS_NAME"]
    # Buffered and never closed: only an exit's flush writes it.
    unclosed = open(os.path.join(OUT, name + ".unclosed"), "w")
    atexit.register(lambda: open(os.path.join(OUT, name + ".atexit"), "w").write("ran"))

def run(mini_batch):
    _wait_for_everyone()
    unclosed.write("".join("%s\\n" % os.path.basename(f) for f in mini_batch))
    return ["%s %s" % (os.environ["PRS_PROCESS_NAME"], gc.isenabled()) for _ in mini_batch]

def shutdown():
    name = os.environ["PRS_PROCESS_NAME"]
    if name == "process000":
        # A non-daemon thread still running when the driver is done: the exit waits for it.
        def late():
            time.sleep(0.3)
            open(os.path.join(OUT, name + ".thread"), "w").write("done")
        threading.Thread(target=late).start()
`,
    );
    const { lines } = await run(specPath, dir, { PRS_DATA_DIR: tempDir('prs-data-') });
    expect(lines).toHaveLength(4);
    expect(new Set(lines.map((l) => l[1]))).toEqual(new Set(['True']));
    const written = ['process000', 'process001'].flatMap((name) =>
      readFileSync(path.join(out, `${name}.unclosed`), 'utf8')
        .split('\n')
        .filter(Boolean),
    );
    expect(written.sort()).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt']);
    for (const name of ['process000', 'process001'])
      expect(readFileSync(path.join(out, `${name}.atexit`), 'utf8')).toBe('ran');
    expect(readFileSync(path.join(out, 'process000.thread'), 'utf8')).toBe('done');
  });

  it('a fork server that cannot start: the workers start fresh, and run.json says what it printed', async () => {
    // An interpreter that runs everything but the fork server, which fails saying why.
    const bin = tempDir('prs-bin-');
    const python = path.join(bin, 'python3');
    writeFileSync(
      python,
      `#!/bin/sh\ncase "$2" in *prs_fork_server.py) echo "the fork server broke here" >&2; exit 3;; esac\nexec ${DEBIAN_PYTHON} "$@"\n`,
      { mode: 0o755 },
    );
    const { dir, specPath } = job(
      `${REPORT}
def run(mini_batch):
    _wait_for_everyone()
    return ["%s %s" % (os.environ["PRS_PROCESS_NAME"], _parent()) for _ in mini_batch]
`,
      {},
      { python },
    );
    const { runDir, lines } = await run(specPath, dir, { PRS_DATA_DIR: tempDir('prs-data-') });
    expect(lines).toHaveLength(4);
    expect(new Set(lines.map((l) => l[1]))).toEqual(new Set(['prs']));
    const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as {
      environment: {
        pythonWorkers: { started: string; forkServers: Array<{ preloaded: null; failure?: string }> };
      };
    };
    expect(record.environment.pythonWorkers.started).toMatch(
      /^fresh interpreters \(no fork server was ready/,
    );
    expect(record.environment.pythonWorkers.forkServers).toEqual([
      { python, preloaded: null, failure: 'the fork server broke here' },
    ]);
  });

  it('preloads what init() imported the last run, only modules it knows to be safe, and repeats what their import printed', async () => {
    const data = tempDir('prs-data-');
    const site = tempDir('prs-site-');
    const marker = path.join(site, 'imported');
    // A yaml that says something when imported, and a module no server may import.
    writeFiles(site, {
      'yaml/__init__.py': 'import sys\nprint("yaml stand-in imported")\nsys.stderr.write("yaml warns\\n")\n',
      'unsafe_module.py': `open(${JSON.stringify(marker)}, "a").write("x")\n`,
    });
    const { dir, specPath } = job(
      `${REPORT}
import yaml

def init():
    import sklearn.linear_model

def run(mini_batch):
    _wait_for_everyone()
    return ["%s %s" % (os.environ["PRS_PROCESS_NAME"], PRELOADED) for _ in mini_batch]
`,
      {},
      { environment_variables: { PYTHONPATH: site } },
    );
    const first = await run(specPath, dir, { PRS_DATA_DIR: data });
    expect(new Set(first.lines.map((l) => l[1]))).toEqual(new Set(['yaml']));
    const memory = path.join(data, 'python-preloads.json');
    const remembered = JSON.parse(readFileSync(memory, 'utf8')) as Record<string, string[]>;
    const key = `${DEBIAN_PYTHON}\n${path.join(dir, 'src', 'score.py')}`;
    expect(remembered[key]).toEqual(
      expect.arrayContaining(['numpy', 'sklearn', 'sklearn.linear_model', 'yaml']),
    );
    // A memory file is only a hint: a module off the list is never imported by the server.
    remembered[key] = [...remembered[key]!, 'unsafe_module'];
    writeFileSync(memory, JSON.stringify(remembered));

    const second = await run(specPath, dir, { PRS_DATA_DIR: data });
    expect(new Set(second.lines.map((l) => l[1]))).toEqual(
      new Set(['numpy,sklearn,sklearn.linear_model,yaml']),
    );
    // run.json says how the workers started and what was preloaded for them.
    const record = JSON.parse(readFileSync(path.join(second.runDir, 'run.json'), 'utf8')) as {
      environment: {
        pythonWorkers: { started: string; forkServers: Array<{ python: string; preloaded: string[] }> };
      };
    };
    expect(record.environment.pythonWorkers.started).toBe('forked from a fork server');
    expect(record.environment.pythonWorkers.forkServers).toEqual([
      expect.objectContaining({
        python: DEBIAN_PYTHON,
        preloaded: expect.arrayContaining(['sklearn.linear_model', 'yaml']),
      }),
    ]);
    expect(existsSync(marker)).toBe(false);
    // Imported once, in the server, yet each worker shows what the import printed, as before.
    for (const name of ['process000', 'process001']) {
      const stderr = readFileSync(
        path.join(second.runDir, 'logs', 'user', 'stderr', '0', `${name}.stderr.txt`),
        'utf8',
      );
      expect(stderr).toContain('yaml stand-in imported');
      expect(stderr).toContain('yaml warns');
    }
  });

  it("imports the interpreter's own distutils, not setuptools' (~0.25 s with scikit-learn), unless the user chose", async () => {
    // joblib (scikit-learn's) imports distutils; Debian's setuptools shim would answer with setuptools
    // and pkg_resources. Each line: how the worker was started, SETUPTOOLS_USE_DISTUTILS, whether
    // pkg_resources was imported, and where distutils came from.
    const script = `${REPORT}
import joblib, distutils

def run(mini_batch):
    _wait_for_everyone()
    where = "setuptools" if "setuptools" in distutils.__file__ else "stdlib"
    return ["%s %s %s %s" % (_parent(), os.environ.get("SETUPTOOLS_USE_DISTUTILS", "-"), "pkg_resources" in sys.modules, where) for _ in mini_batch]
`;
    const cases: [NodeJS.ProcessEnv, Record<string, string>, string][] = [
      [{}, {}, 'fork-server stdlib False stdlib'],
      [{ PRS_PYTHON_FORK: '0' }, {}, 'prs stdlib False stdlib'],
      [{}, { SETUPTOOLS_USE_DISTUTILS: 'local' }, 'fork-server local True setuptools'],
    ];
    for (const [env, variables, expected] of cases) {
      const { dir, specPath } = job(script, {}, { environment_variables: variables });
      const { lines } = await run(specPath, dir, { ...env, PRS_DATA_DIR: tempDir('prs-data-') });
      expect(new Set(lines.map((l) => l.join(' ')))).toEqual(new Set([expected]));
    }
  });

  it('PRS_PYTHON_FORK=0 starts every worker as a fresh interpreter, as before the server', async () => {
    const { dir, specPath } = job(
      `${REPORT}
import numpy

def run(mini_batch):
    _wait_for_everyone()
    return ["%s %s %s" % (os.environ["PRS_PROCESS_NAME"], PRELOADED, _parent()) for _ in mini_batch]
`,
    );
    const { lines, runDir } = await run(specPath, dir, {
      PRS_PYTHON_FORK: '0',
      PRS_DATA_DIR: tempDir('prs-data-'),
    });
    expect(new Set(lines.map((l) => `${l[1]} ${l[2]}`))).toEqual(new Set(['- prs']));
    const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as {
      environment: { pythonWorkers: { started: string } };
    };
    expect(record.environment.pythonWorkers.started).toMatch(/^fresh interpreters/);
  });

  it('a fork server that dies mid-run: its workers are reported killed, replaced by fresh interpreters, and their mini-batches retried', async () => {
    const { dir, specPath } = job(
      `${REPORT}
import signal

def run(mini_batch):
    mark = os.path.join(BARRIER, "server-killed")
    if not os.path.exists(mark) and _parent() == "fork-server":
        open(mark, "w").close()
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(60)
    return ["%s %s" % (os.environ["PRS_PROCESS_NAME"], _parent()) for _ in mini_batch]
`,
      {},
      { run_max_try: 3 },
    );
    const { runDir, lines } = await run(specPath, dir, { PRS_DATA_DIR: tempDir('prs-data-') });
    expect(lines).toHaveLength(4);
    const main = readFileSync(path.join(runDir, 'logs', 'sys', 'node', '0', '_main.txt'), 'utf8');
    expect(main).toMatch(/process00[01] exits with returncode -9\./);
    // The replacements are fresh interpreters, started by prs itself.
    const replacements = lines.filter((l) => !['process000', 'process001'].includes(l[0]!));
    expect(replacements.length).toBeGreaterThan(0);
    expect(new Set(replacements.map((l) => l[1]))).toEqual(new Set(['prs']));
  });

  it("returns once the server has ended and been reaped: its workers' CPU time is the command's", async () => {
    // Each mini-batch burns 0.4 s of CPU in its worker, a child of the server; the server reaps its
    // workers, and the leader must reap the server before it exits, or all of that is lost to
    // whoever adopts it (what \`time prs run\` and the benchmarks' CPU figures read).
    const { dir, specPath } = job(
      `${REPORT}
def run(mini_batch):
    _wait_for_everyone()
    end = time.process_time() + 0.4
    while time.process_time() < end:
        pass
    return ["%d" % os.getppid() for _ in mini_batch]
`,
    );
    const before = childrenCpuSeconds();
    const { lines } = await run(specPath, dir, { PRS_DATA_DIR: tempDir('prs-data-') });
    const used = childrenCpuSeconds() - before;
    expect(lines).toHaveLength(4);
    expect(used).toBeGreaterThanOrEqual(4 * 0.4 * 0.9);
    const [server, ...others] = new Set(lines.map((l) => l[0]));
    expect(others).toEqual([]);
    expect(existsSync(`/proc/${server}`)).toBe(false);
  });

  it("tells each import's outcome as it happens: the interpreter check has pandas's while later preloads go on", async () => {
    const site = tempDir('prs-site-');
    const release = path.join(site, 'release');
    writeFiles(site, {
      'yaml/__init__.py': `import os, time\nwhile not os.path.exists(${JSON.stringify(release)}):\n    time.sleep(0.02)\n`,
    });
    const env = Object.fromEntries(
      Object.entries({ ...process.env, PYTHONPATH: site }).filter(
        (e): e is [string, string] => e[1] !== undefined,
      ),
    );
    const server = new ForkServer({
      python: DEBIAN_PYTHON,
      env,
      cwd: tempDir('prs-fork-cwd-'),
      preload: ['pandas', 'yaml', 'numpy.no_such_module'],
      entryScript: '',
    });
    try {
      expect(await server.importFailures(['pandas'])).toEqual({});
      // yaml is still importing: the server is not ready yet.
      expect(server.preloaded).toBeNull();
      writeFileSync(release, '');
      expect(await server.ready).toBe(true);
      expect(await server.importFailures(['pandas', 'numpy.no_such_module'])).toEqual({
        'numpy.no_such_module': "ModuleNotFoundError: No module named 'numpy.no_such_module'",
      });
      // Never tried (not on its fork-safe list): the check must import it itself.
      expect(await server.importFailures(['torch'])).toBeNull();
    } finally {
      await server.stop();
    }
  });

  it('a preload that hangs holds nothing up: Ctrl-C ends the run at once, and the server with it', async () => {
    const site = tempDir('prs-site-');
    const importing = path.join(site, 'importing');
    writeFiles(site, {
      'yaml/__init__.py': `import time\nopen(${JSON.stringify(importing)}, "w").close()\ntime.sleep(600)\n`,
    });
    const { dir, specPath } = job(
      `${REPORT}\nimport yaml\n\ndef run(mini_batch):\n    return mini_batch\n`,
      {},
      {
        environment_variables: { PYTHONPATH: site },
      },
    );
    const child = startPrs(['run', specPath, '--json', '--runs-dir', path.join(dir, 'runs')], {
      env: { PRS_DATA_DIR: tempDir('prs-data-') },
    });
    const result = collect(child);
    await waitFor(() => existsSync(importing), 30_000);
    child.kill('SIGINT');
    const r = await result;
    expect(r.code, r.stderr).toBe(130);
    expect(r.json?.status).toBe('cancelled');
    // No process is left that was started for this job (the server's environment names its script).
    const script = path.join(dir, 'src', 'score.py');
    const left = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/environ`, 'utf8').includes(script);
        } catch {
          return false;
        }
      });
    expect(left).toEqual([]);
  });
});
