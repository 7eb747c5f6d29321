// Talking to nvidia-smi directly. systeminformation finds NVIDIA GPUs on Linux only through lspci,
// which containers often lack, while nvidia-smi answers wherever the driver is usable — and a GPU
// the driver cannot use is no use to a worker anyway.

import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { withoutInherited } from '../childEnv';

/** One row of `--query-gpu` output: field name -> raw value, `null` where nvidia-smi had none. */
export type NvidiaSmiRow = Record<string, string | null>;

export interface NvidiaSmiResult {
  ok: boolean;
  stdout: string;
  /** Why there is no answer: missing, timed out, or its own error message. Empty when ok. */
  error: string;
  /** True when the command itself is not installed (ENOENT): no driver, not a failure to report. */
  missing: boolean;
  /** True when it did not answer in time (it was killed). */
  timedOut: boolean;
}

/** Runs nvidia-smi with a deadline; never throws. `env.PATH` decides which nvidia-smi runs. */
export function runNvidiaSmi(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 3000,
): Promise<NvidiaSmiResult> {
  if (!mayBeOnPath('nvidia-smi', env))
    return Promise.resolve({
      ok: false,
      stdout: '',
      error: 'nvidia-smi is not on PATH',
      missing: true,
      timedOut: false,
    });
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      args,
      {
        env: withoutInherited(env),
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        windowsHide: true,
        maxBuffer: 4 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (!err) {
          resolve({ ok: true, stdout, error: '', missing: false, timedOut: false });
          return;
        }
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        if (e.code === 'ENOENT') {
          resolve({
            ok: false,
            stdout: '',
            error: 'nvidia-smi is not on PATH',
            missing: true,
            timedOut: false,
          });
        } else if (e.killed) {
          resolve({
            ok: false,
            stdout: '',
            error: `nvidia-smi did not answer within ${timeoutMs / 1000} s`,
            missing: false,
            timedOut: true,
          });
        } else {
          // nvidia-smi prints its own errors on stdout ("No devices were found", driver failures).
          const message = (stdout.trim() || stderr.trim() || e.message).split('\n')[0];
          resolve({
            ok: false,
            stdout,
            error: `nvidia-smi failed: ${message}`,
            missing: false,
            timedOut: false,
          });
        }
      },
    );
  });
}

/**
 * False only when no folder of `env.PATH` holds a `command`. Most machines have no
 * nvidia-smi, and a failed spawn still forks the leader (~5 ms at its size, before its workers can
 * start); a few stat calls say the same. Windows (PATHEXT) and a missing PATH are left to the spawn.
 */
function mayBeOnPath(command: string, env: NodeJS.ProcessEnv): boolean {
  if (process.platform === 'win32' || env.PATH === undefined) return true;
  for (const dir of env.PATH.split(path.delimiter)) {
    try {
      // Existence only: one there that cannot run is the spawn's to report (EACCES).
      accessSync(path.resolve(dir || '.', command), constants.F_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

/** Values nvidia-smi prints when it cannot give one: "[N/A]", "[Not Supported]", "N/A", "[Unknown Error]". */
function isMissingValue(value: string): boolean {
  const v = value.trim();
  return v === '' || /^\[.*\]$/.test(v) || /^n\/a$/i.test(v);
}

/**
 * Parses `nvidia-smi --query-gpu=<fields> --format=csv[,noheader][,nounits]` output into rows keyed
 * by the requested field names. The header, when present, is recognised by its first field and
 * skipped; units stay in the values (strip them with the number parsers below). Values are split on
 * commas; a row with more parts than fields (a comma inside a GPU name) gives the extra parts to the
 * `name` field, or else to the last field.
 */
export function parseQueryCsv(stdout: string, fields: string[]): NvidiaSmiRow[] {
  const rows: NvidiaSmiRow[] = [];
  const nameAt = fields.findIndex((f) => f === 'name' || f === 'gpu_name');
  for (const raw of stdout.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    let parts = line.split(',').map((p) => p.trim());
    if (isHeader(parts, fields)) continue;
    if (parts.length < fields.length) continue; // a message, not a row ("No devices were found")
    if (parts.length > fields.length) {
      const extra = parts.length - fields.length;
      const at = nameAt >= 0 ? nameAt : fields.length - 1;
      parts = [
        ...parts.slice(0, at),
        parts.slice(at, at + extra + 1).join(', '),
        ...parts.slice(at + extra + 1),
      ];
    }
    const row: NvidiaSmiRow = {};
    fields.forEach((f, i) => {
      const v = parts[i] ?? '';
      row[f] = isMissingValue(v) ? null : v;
    });
    rows.push(row);
  }
  return rows;
}

function isHeader(parts: string[], fields: string[]): boolean {
  // "memory.total [MiB]" is the header form of memory.total.
  const first = (parts[0] ?? '').replace(/\s*\[.*\]$/, '').toLowerCase();
  return first === fields[0]?.toLowerCase();
}

/** An integer field such as `index`; null when missing or not a number. */
export function parseIntValue(value: string | null | undefined): number | null {
  if (value == null) return null;
  const m = /^-?\d+/.exec(value.trim());
  return m ? Number(m[0]) : null;
}

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
};

/** A memory.* value ("81559 MiB" or "81559") in bytes; nvidia-smi's unit for memory is MiB. */
export function parseMemoryBytes(value: string | null | undefined): number | null {
  if (value == null) return null;
  const m = /^(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)/.exec(value.trim());
  if (!m) return null;
  const unit = (m[2] || 'MiB').toLowerCase();
  const factor = UNIT_BYTES[unit];
  if (factor === undefined) return null;
  return Math.round(Number(m[1]) * factor);
}

/** A percentage ("35 %" or "35"); null when missing. */
export function parsePercent(value: string | null | undefined): number | null {
  if (value == null) return null;
  const m = /^(-?\d+(?:\.\d+)?)/.exec(value.trim());
  return m ? Number(m[1]) : null;
}

export interface ListedGpu {
  index: number;
  name: string;
  uuid?: string;
}

/** Parses `nvidia-smi -L`: "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-…)". MIG lines below a GPU are skipped. */
export function parseListOutput(stdout: string): ListedGpu[] {
  const gpus: ListedGpu[] = [];
  for (const raw of stdout.split(/\r?\n/)) {
    const m = /^GPU (\d+): (.*?)(?: \(UUID: ([^)]+)\))?\s*$/.exec(raw.trim());
    if (!m) continue;
    gpus.push({ index: Number(m[1]), name: m[2], ...(m[3] ? { uuid: m[3] } : {}) });
  }
  return gpus;
}
