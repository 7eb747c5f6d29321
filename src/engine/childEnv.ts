// The one list of variables the host never passes on from its own environment to a process it
// starts (workers, interpreter probes, nvidia-smi, "Shell here"). Each of them makes a program run
// code nobody asked for: a library loaded into every process, a script sourced by every shell, a
// module required by every Node or run by every interactive Python. The host may have inherited
// them from whatever started it; a job should not.
//
// A job spec's own `environment_variables` are the user's deliberate choice and are layered on top
// afterwards, so `LD_PRELOAD: libjemalloc.so` or `NODE_OPTIONS: --max-old-space-size=8192` in a spec
// still reach its workers. A probe that only fills in the wizard never gets the spec's variables.
//
// Kept on purpose: LD_LIBRARY_PATH (and macOS's DYLD_LIBRARY_PATH). They only change where libraries a
// program already links are found, not what runs, and CUDA, cuDNN and conda installs commonly rely
// on them; stripping them would break GPU jobs that run fine from the user's own terminal.

export const NEVER_INHERITED: readonly string[] = [
  // The dynamic loader: code loaded into every process.
  'LD_PRELOAD',
  'LD_AUDIT',
  'DYLD_INSERT_LIBRARIES',
  // Node and Electron: modules required at start, Electron binaries turned into plain Node.
  'NODE_OPTIONS',
  'ELECTRON_RUN_AS_NODE',
  // Python: a file run by interactive interpreters, an interpreter left interactive after its script
  // (a probe would hang on stdin).
  'PYTHONSTARTUP',
  'PYTHONINSPECT',
  // Shells: files sourced by non-interactive bash and by sh, a command before every prompt, and
  // options that turn on tracing (whose PS4 is expanded, command substitutions included).
  'BASH_ENV',
  'ENV',
  'PROMPT_COMMAND',
  'PS4',
  'SHELLOPTS',
  'BASHOPTS',
];

const NEVER = new Set(NEVER_INHERITED);

/** `env` without the variables above (exported bash functions, `BASH_FUNC_*`, go too). */
export function withoutInherited(env: NodeJS.ProcessEnv): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || NEVER.has(k) || k.startsWith('BASH_FUNC_')) continue;
    clean[k] = v;
  }
  return clean;
}

/** The host's own environment as a child may inherit it. */
export function inheritedEnv(): Record<string, string> {
  return withoutInherited(process.env);
}
