// PRS reads some of its settings from the entry script's argument list (`--resource_monitor_interval
// 20`, `--profiling_module cProfile`, ...). These helpers find such a flag in either spelling,
// `--flag value` or `--flag=value`.

export interface FlagHit {
  value: string | undefined;
  /** Index of the flag in the argument list (for messages). */
  index: number;
  /** The argument list without the flag and its value. */
  rest: string[];
}

/** The last occurrence of `--name`, as argparse would take it; undefined when absent. */
export function findFlag(args: readonly string[], name: string): FlagHit | undefined {
  const flag = `--${name}`;
  let hit: FlagHit | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === flag) {
      const value = i + 1 < args.length ? args[i + 1] : undefined;
      hit = {
        value,
        index: i,
        rest: [...args.slice(0, i), ...args.slice(i + (value === undefined ? 1 : 2))],
      };
      i++;
    } else if (a.startsWith(`${flag}=`)) {
      hit = { value: a.slice(flag.length + 1), index: i, rest: [...args.slice(0, i), ...args.slice(i + 1)] };
    }
  }
  return hit;
}

/** Every occurrence of `--name` (and its value) removed. */
export function withoutFlag(args: readonly string[], name: string): string[] {
  let rest = [...args];
  for (let hit = findFlag(rest, name); hit; hit = findFlag(rest, name)) rest = hit.rest;
  return rest;
}
