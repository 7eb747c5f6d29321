// Temp folders with real files for the spec loader's disk checks.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TempTree {
  dir: string;
  /** Write a file (folders made as needed); returns its absolute path. */
  file(rel: string, content?: string): string;
  folder(rel: string): string;
  remove(): void;
}

export function tempTree(): TempTree {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'prs-spec-'));
  return {
    dir,
    file(rel, content = '') {
      const p = path.join(dir, rel);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, content);
      return p;
    },
    folder(rel) {
      const p = path.join(dir, rel);
      mkdirSync(p, { recursive: true });
      return p;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
