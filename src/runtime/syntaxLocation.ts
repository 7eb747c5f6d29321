// Where a syntax error in an entry script is. V8 gives an ES module's SyntaxError no file, line or
// column at all (only a stack of Node's loader), so the worker parses the file again with esbuild,
// already a dependency for .ts scripts, which reports the place. Only on the error path.

import { readFile } from 'node:fs/promises';
import type { ErrorInfo } from '../common/protocol';

interface EsbuildMessage {
  text: string;
  location: { line: number; column: number; lineText: string } | null;
}

/**
 * The load error of `file` at its line and column, the line shown with a caret under the place;
 * V8's words where it gave some (`v8Message`), esbuild's otherwise. Null when esbuild finds nothing
 * wrong (an early error only V8 raises, or the error is in a module it imports).
 */
export async function locateSyntaxError(file: string, v8Message?: string): Promise<ErrorInfo | null> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  const { transform } = await import('esbuild');
  const loader = file.endsWith('.ts') ? 'ts' : 'js';
  try {
    await transform(source, { loader, sourcefile: file });
    return null;
  } catch (err) {
    const first = (err as { errors?: EsbuildMessage[] }).errors?.[0];
    if (!first?.location) return null;
    const { line, lineText } = first.location;
    // esbuild counts columns from 0 (in bytes: the same for the ASCII most code is).
    const column = first.location.column + 1;
    const where = `${file}:${line}:${column}`;
    const text = v8Message ?? first.text;
    return {
      type: 'SyntaxError',
      message: `cannot load ${file}: SyntaxError at line ${line}, column ${column}: ${text}`,
      // The place, as Node prints a CommonJS syntax error; the loader's stack says nothing.
      traceback: `${where}\n${lineText}\n${' '.repeat(column - 1)}^\n\nSyntaxError: ${text}`,
    };
  }
}
