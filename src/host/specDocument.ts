// Saving a spec over the user's own YAML: the file is edited through the `yaml` package's document
// API, so comments, key order, quoting and flow style of every key the form did not change stay as
// the user wrote them. Only values that differ are replaced, keys the form dropped are removed, and
// new keys go after the last key contracts.md lists before them (or at the end).

import { Document, isMap, isScalar, isSeq, parseDocument, YAMLMap, type Node, type Pair } from 'yaml';
import { SPEC_KEYS } from '../common/specSchema';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Structural equality of plain JSON-like values (YAML's toJS on one side, the form's draft on the other). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && sameValue(a[k], b[k]));
  }
  return false;
}

/**
 * Makes `node` hold `value`, keeping what can be kept: a scalar keeps its comments, a mapping its
 * untouched entries, a sequence its untouched items. Returns the node to store (a new one when the
 * shapes differ).
 */
function assign(doc: Document, node: unknown, value: unknown): unknown {
  const current = isScalar(node) || isMap(node) || isSeq(node) ? (node as Node).toJSON() : undefined;
  if (node !== undefined && sameValue(current, value)) return node;
  if (isScalar(node) && !isRecord(value) && !Array.isArray(value)) {
    // A quoted "1" that becomes the number 1 must not stay quoted.
    if (typeof node.value !== typeof value) node.type = undefined;
    node.value = value;
    return node;
  }
  if (isMap(node) && isRecord(value)) {
    for (const pair of [...node.items]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (!(key in value)) node.delete(pair.key);
    }
    for (const [k, v] of Object.entries(value)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === k);
      if (pair) pair.value = assign(doc, pair.value, v) as Node;
      else node.add(doc.createPair(k, v));
    }
    return node;
  }
  if (isSeq(node) && Array.isArray(value)) {
    node.items.splice(value.length);
    value.forEach((v, i) => {
      if (i < node.items.length) node.items[i] = assign(doc, node.items[i], v) as Node;
      else node.items.push(doc.createNode(v));
    });
    return node;
  }
  return doc.createNode(value);
}

/**
 * The YAML text of `spec` written over `text` (the file as it is on disk), or '' when `text` is not
 * a YAML mapping. Each top-level key is its own stretch of text: an untouched key keeps its bytes;
 * a changed one is edited through the document API (its comments stay) and only its stretch is
 * written anew; a removed one loses its stretch; a new one goes after the last key that
 * contracts.md lists before it. A spec that says what the file says gives `text` back unchanged.
 */
export function updateSpecYaml(text: string, spec: Record<string, unknown>): string {
  const doc: Document = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return '';
  if (sameValue(doc.toJS(), spec)) return text;
  const keyOf = (k: unknown) => (isScalar(k) ? String(k.value) : String(k));
  const stretch = (p: Pair): [number, number] => {
    const key = p.key as Node;
    const end = (p.value as Node | null)?.range?.[2] ?? key.range?.[2] ?? 0;
    return [key.range?.[0] ?? 0, end];
  };
  const edits: Array<{ at: number; end: number; text: string }> = [];
  const pairs = doc.contents.items as Pair[];
  for (const p of pairs) {
    const k = keyOf(p.key);
    const [at, end] = stretch(p);
    if (!(k in spec)) edits.push({ at, end, text: '' });
    else if (!sameValue((p.value as Node | null)?.toJSON(), spec[k])) {
      p.value = assign(doc, p.value, spec[k]) as Node;
      edits.push({ at, end, text: render(p, text.slice(at, end).endsWith('\n')) });
    }
  }
  const rank = (k: string) => {
    const i = (SPEC_KEYS as string[]).indexOf(k);
    return i < 0 ? SPEC_KEYS.length : i;
  };
  const present = new Set(pairs.map((p) => keyOf(p.key)));
  const added = Object.entries(spec).filter(([k]) => !present.has(k));
  for (const [k, v] of added.sort(([a], [b]) => rank(a) - rank(b))) {
    const before = pairs.filter((p) => rank(keyOf(p.key)) <= rank(k)).pop();
    const at = before ? stretch(before)[1] : pairs[0] ? stretch(pairs[0])[0] : text.length;
    const lead = at > 0 && text[at - 1] !== '\n' ? '\n' : '';
    edits.push({ at, end: at, text: lead + render(doc.createPair(k, v), true) });
  }
  // Applied from the end, so each edit's offsets still hold: at one place, the key replaced there
  // first, then what goes before it, in order.
  let out = text;
  edits
    .map((e, i) => ({ ...e, i }))
    .sort((a, b) => b.at - a.at || b.end - a.end || b.i - a.i)
    .forEach((e) => (out = out.slice(0, e.at) + e.text + out.slice(e.end)));
  return out;
}

/** One key and its value as YAML text, without the comment above the key (that text is not replaced). */
function render(pair: Pair, newline: boolean): string {
  const key = pair.key as Node | null;
  if (key && 'commentBefore' in key) {
    key.commentBefore = undefined;
    key.spaceBefore = undefined;
  }
  const one = new Document(new YAMLMap());
  (one.contents as YAMLMap).items.push(pair);
  const t = one.toString({ lineWidth: 0 });
  return newline ? t : t.replace(/\n$/, '');
}
