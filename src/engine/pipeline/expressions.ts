// The expression language of Azure ML v2 pipelines, as far as a local run needs it:
// `${{parent.inputs.x}}`, `${{parent.outputs.y}}`, `${{parent.jobs.A.outputs.B}}` in a node's
// bindings, `${{inputs.x}}` / `${{outputs.y}}` in a command or program_arguments, and `$[[ ... ]]`
// optional parts, dropped when an input they name is unset. Pure: no file system.

/** One `${{...}}` expression with its spacing normalised ("parent.jobs.A.outputs.B"). */
const ANY_EXPRESSION = /\$\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;
const SINGLE_EXPRESSION = /^\s*\$\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}\s*$/;
const OPTIONAL_PART = /\$\[\[([\s\S]*?)\]\]/g;

export type Reference =
  | { kind: 'parent-input'; name: string }
  | { kind: 'parent-output'; name: string }
  | { kind: 'job-output'; node: string; name: string }
  | { kind: 'input'; name: string }
  | { kind: 'output'; name: string };

/** What an expression's dotted text refers to; null for a form that has no local meaning. */
export function parseReference(text: string): Reference | null {
  const parts = text.split('.');
  if (parts[0] === 'parent') {
    if (parts.length === 3 && parts[1] === 'inputs') return { kind: 'parent-input', name: parts[2]! };
    if (parts.length === 3 && parts[1] === 'outputs') return { kind: 'parent-output', name: parts[2]! };
    if (parts.length === 5 && parts[1] === 'jobs' && parts[3] === 'outputs')
      return { kind: 'job-output', node: parts[2]!, name: parts[4]! };
    return null;
  }
  if (parts.length === 2 && parts[0] === 'inputs') return { kind: 'input', name: parts[1]! };
  if (parts.length === 2 && parts[0] === 'outputs') return { kind: 'output', name: parts[1]! };
  return null;
}

/** The reference when the whole value is one expression (`${{parent.inputs.x}}`), else null. */
export function singleReference(value: unknown): { text: string; ref: Reference | null } | null {
  if (typeof value !== 'string') return null;
  const m = SINGLE_EXPRESSION.exec(value);
  return m ? { text: m[1]!, ref: parseReference(m[1]!) } : null;
}

/** Every expression in a text, in order. */
export function references(text: string): Array<{ whole: string; text: string; ref: Reference | null }> {
  return [...text.matchAll(ANY_EXPRESSION)].map((m) => ({
    whole: m[0],
    text: m[1]!,
    ref: parseReference(m[1]!),
  }));
}

/**
 * `$[[ ... ]]` parts: kept (without the brackets) when every `${{inputs.x}}` inside names a set
 * input, dropped otherwise, as Azure ML does for optional inputs.
 */
export function resolveOptionalParts(text: string, isSet: (input: string) => boolean): string {
  return text.replace(OPTIONAL_PART, (_whole, inner: string) => {
    const inputs = references(inner).filter((r) => r.ref?.kind === 'input');
    return inputs.every((r) => isSet(r.ref!.name)) ? inner : '';
  });
}

/** The text with each `${{...}}` replaced by what `value` gives for it (left as written on undefined). */
export function substitute(
  text: string,
  value: (ref: Reference, whole: string) => string | undefined,
): string {
  return text.replace(ANY_EXPRESSION, (whole, inner: string) => {
    const ref = parseReference(inner);
    return (ref && value(ref, whole)) ?? whole;
  });
}

/** The text without its `$[[ ]]` parts: what must hold even when every optional input is unset. */
export function withoutOptionalParts(text: string): string {
  return text.replace(OPTIONAL_PART, '');
}

/** A word for a POSIX shell: quoted only when it needs to be. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
