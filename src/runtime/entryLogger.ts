// ctx.logger for Node entry scripts: EntryScript's logger, writing
// logs/user/entry_script_log/<node>/<process>.log.txt at the job's logging_level.

import { appendFileSync } from 'node:fs';
import type { LoggingLevel } from '../common/spec';

const LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 } as const;
type Level = keyof typeof LEVELS;

export interface EntryLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warning(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  critical(...args: unknown[]): void;
}

function format(args: unknown[]): string {
  return args
    .map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.stack : JSON.stringify(a)))
    .join(' ');
}

export function createEntryLogger(file: string, level: LoggingLevel, processName: string): EntryLogger {
  const threshold = LEVELS[level];
  // Synchronous appends: a line logged just before a crash must survive it.
  const log =
    (lvl: Level) =>
    (...args: unknown[]) => {
      if (LEVELS[lvl] < threshold) return;
      const stamp = new Date().toISOString().replace('T', ' ').replace('Z', '');
      appendFileSync(file, `${stamp} ${lvl} ${processName} ${format(args)}\n`);
    };
  return {
    debug: log('DEBUG'),
    info: log('INFO'),
    warning: log('WARNING'),
    warn: log('WARNING'),
    error: log('ERROR'),
    critical: log('CRITICAL'),
  };
}
