// The v2 expression language, alone: references, $[[ ]] optional parts, substitution.

import { describe, expect, it } from 'vitest';
import {
  parseReference,
  references,
  resolveOptionalParts,
  singleReference,
  substitute,
} from '../../src/engine/pipeline/expressions';

describe('v2 pipeline expressions', () => {
  it('tells each binding form apart, and gives no meaning to others', () => {
    expect(parseReference('parent.inputs.x')).toEqual({ kind: 'parent-input', name: 'x' });
    expect(parseReference('parent.outputs.y')).toEqual({ kind: 'parent-output', name: 'y' });
    expect(parseReference('parent.jobs.train.outputs.model')).toEqual({
      kind: 'job-output',
      node: 'train',
      name: 'model',
    });
    expect(parseReference('inputs.x')).toEqual({ kind: 'input', name: 'x' });
    expect(parseReference('outputs.y')).toEqual({ kind: 'output', name: 'y' });
    expect(parseReference('default_datastore')).toBeNull();
    expect(parseReference('parent.jobs.train.inputs.x')).toBeNull();
  });

  it('finds a whole-value expression however it is spaced, and only a whole one', () => {
    expect(singleReference('  ${{ parent.inputs.x }} ')?.ref).toEqual({ kind: 'parent-input', name: 'x' });
    expect(singleReference('a ${{parent.inputs.x}}')).toBeNull();
    expect(singleReference(3)).toBeNull();
  });

  it('keeps a $[[ ]] part when every input in it is set, drops it when one is not', () => {
    const set = new Set(['a', 'b']);
    const text =
      'run --a ${{inputs.a}} $[[--b ${{inputs.b}}]] $[[--c ${{inputs.c}} --a ${{inputs.a}}]] $[[--lit]]';
    expect(resolveOptionalParts(text, (n) => set.has(n))).toBe(
      'run --a ${{inputs.a}} --b ${{inputs.b}}  --lit',
    );
  });

  it('substitutes what it is given and leaves the rest as written', () => {
    const out = substitute('--x ${{inputs.x}} --y ${{outputs.y}} --z ${{name}}', (ref) =>
      ref.kind === 'input' ? '/data' : undefined,
    );
    expect(out).toBe('--x /data --y ${{outputs.y}} --z ${{name}}');
    expect(references('${{inputs.a}}-${{outputs.b}}').map((r) => r.text)).toEqual(['inputs.a', 'outputs.b']);
  });
});
