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

/**
 * PRS settings that may be given as flags in `arguments` (Azure ML v2 has no other place for them).
 * The loader moves them to their spec keys; a key written in the spec wins over its flag.
 */
export const PASS_THROUGH_KEYS = [
  'error_threshold',
  'allowed_failed_percent',
  'resource_monitor_interval',
  'profiling_module',
  'append_row_file_name',
] as const;
export type PassThroughKey = (typeof PASS_THROUGH_KEYS)[number];

/** The flag's value as its key's type, or what is wrong with it ("what is wrong (expected)"). */
export function passThroughValue(
  key: PassThroughKey,
  value: string | undefined,
): { value: number | string } | { error: string } {
  if (value === undefined || value.trim() === '')
    return { error: `no value after --${key} (expected --${key} <value>)` };
  switch (key) {
    case 'error_threshold': {
      const n = Number(value);
      if (!Number.isInteger(n) || n < -1)
        return {
          error: `"${value}" is not a valid value for --${key} (expected a whole number of items >= -1)`,
        };
      return { value: n };
    }
    case 'allowed_failed_percent':
    case 'resource_monitor_interval': {
      const n = Number(value);
      const max = key === 'allowed_failed_percent' ? 100 : Infinity;
      if (!Number.isFinite(n) || n < 0 || n > max) {
        const expected =
          key === 'allowed_failed_percent' ? 'a number from 0 to 100' : 'a number of seconds >= 0';
        return { error: `"${value}" is not a valid value for --${key} (expected ${expected})` };
      }
      return { value: n };
    }
    case 'append_row_file_name':
      if (/[/\\]/.test(value) || value === '.' || value === '..') {
        return {
          error: `"${value}" is not a valid value for --${key} (expected a file name without folders)`,
        };
      }
      return { value };
    default:
      return { value };
  }
}
