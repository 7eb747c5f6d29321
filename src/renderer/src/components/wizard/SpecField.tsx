// A text field for one top-level key of the spec, showing that key's error.

import { shown, TextField, typedValue, type Draft } from './fields';

/** What a field of the form needs: the draft, how to set a key, and each key's error. */
export interface DraftForm {
  draft: Draft;
  set(key: string, value: unknown): void;
  errors: Record<string, string | null>;
}

/** gpus as typed: auto, none, or device indexes separated by commas. */
function gpusValue(text: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  if (t === 'auto' || t === 'none') return t;
  const parts = t.split(',').map((p) => typedValue(p));
  return parts.every((p) => typeof p === 'number') ? parts : t;
}

export function SpecField({
  form,
  name,
  label,
  placeholder,
}: {
  form: DraftForm;
  name: string;
  label: string;
  placeholder?: string;
}) {
  const v = form.draft[name];
  return (
    <TextField
      name={name}
      label={label}
      value={Array.isArray(v) ? (v as unknown[]).join(',') : shown(v)}
      onChange={(t) => form.set(name, name === 'gpus' ? gpusValue(t) : typedValue(t))}
      error={form.errors[name]}
      placeholder={placeholder}
    />
  );
}
