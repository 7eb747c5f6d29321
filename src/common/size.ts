// mini_batch_size in the forms ParallelRunStep accepts. Files inputs count files; tabular inputs
// count bytes, written as `1024`, `512KB`, `10MB` or `1GB` (case-insensitive, powers of 1024).
// Pure: the renderer's wizard uses it too.

import type { InputType } from './spec';

export const DEFAULT_FILES_MINI_BATCH_SIZE = 10;
export const DEFAULT_TABULAR_MINI_BATCH_BYTES = 1024 * 1024;

const UNITS: Record<string, number> = { '': 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/**
 * PRS's own pattern is `^\d+([kKmMgG][bB])*$`; its `*` would also take "1KBKB", which is surely a
 * typo, so one unit at most. Blanks around the unit are tolerated because Azure ML v2 writes "100 kb".
 */
export const SIZE_PATTERN = /^\s*(\d+)\s*([kmg]b)?\s*$/i;

/** Bytes from `1024`, "1024", "512KB", "10 mb", "1GB"; null when the value is not such a size or is 0. */
export function parseByteSize(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : null;
  if (typeof value !== 'string') return null;
  const m = SIZE_PATTERN.exec(value);
  if (!m) return null;
  const bytes = Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()];
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : null;
}

/** A count of files: a positive whole number, or a string of digits (Azure ML v2 writes "10"). */
export function parseFileCount(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : null;
  if (typeof value !== 'string' || !/^\s*\d+\s*$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/**
 * The resolved mini_batch_size: a file count for files inputs, bytes for tabular ones. Undefined
 * gives the default (10 files / 1 MB); null means the value does not fit the input type.
 */
export function parseMiniBatchSize(value: unknown, inputType: InputType): number | null {
  if (value === undefined) {
    return inputType === 'files' ? DEFAULT_FILES_MINI_BATCH_SIZE : DEFAULT_TABULAR_MINI_BATCH_BYTES;
  }
  return inputType === 'files' ? parseFileCount(value) : parseByteSize(value);
}

/** For people: 512 -> "512 B", 1536 -> "1.5 KB", 1048576 -> "1 MB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(value) : String(Math.round(value * 10) / 10);
  return `${text} ${units[unit]}`;
}

/** Bytes in the spec's own notation, exact: 1048576 -> "1MB", 1536 -> "1536" (for exports). */
export function formatSizeSpec(bytes: number): string {
  for (const unit of ['gb', 'mb', 'kb'] as const) {
    if (bytes % UNITS[unit] === 0) return `${bytes / UNITS[unit]}${unit.toUpperCase()}`;
  }
  return String(bytes);
}
