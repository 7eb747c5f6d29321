// The wizard's form fields: one line of text, a choice, a list of lines, and rows of named values.
// Each shows its key's error in the words of `prs validate`.

import { useState, type ReactNode } from 'react';
import { FIELD_INFO } from '../../../../common/specSchema';

export type Draft = Record<string, unknown>;

/** What a typed value means: a number when it reads as one (the schema then checks its range). */
export function typedValue(text: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return text;
}

export function shown(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

export function FieldError({ error, testId }: { error?: string | null; testId?: string }) {
  if (!error) return null;
  return (
    <p className="field-error" role="alert" data-testid={testId}>
      {error}
    </p>
  );
}

export function TextField({
  name,
  label,
  value,
  onChange,
  error,
  placeholder,
}: {
  name: string;
  label: string;
  value: string;
  onChange(v: string): void;
  error?: string | null;
  placeholder?: string;
}) {
  const hint = FIELD_INFO[name]?.expected;
  return (
    <div className="field">
      <label>
        <span>{label}</span>
        <input
          data-testid={`field-${name}`}
          aria-label={label}
          value={value}
          placeholder={placeholder}
          title={hint}
          onChange={(e) => onChange(e.target.value)}
        />
      </label>
      <FieldError error={error} testId={`field-${name}-error`} />
    </div>
  );
}

export function SelectField({
  name,
  label,
  value,
  options,
  onChange,
}: {
  name: string;
  label: string;
  value: string;
  options: readonly string[];
  onChange(v: string): void;
}) {
  return (
    <div className="field">
      <label>
        <span>{label}</span>
        <select
          data-testid={`field-${name}`}
          aria-label={label}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        >
          {options.map((o) => (
            <option key={o} value={o}>
              {o === '' ? '(default)' : o}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

/**
 * A list of strings, one per line. The text is the field's own (a blank line being typed is not
 * lost); the list follows it. A spec opened later remounts the form, and so this field.
 */
export function LinesField({
  name,
  label,
  value,
  onChange,
  error,
}: {
  name: string;
  label: string;
  value: string[];
  onChange(v: string[] | undefined): void;
  error?: string | null;
}) {
  const [text, setText] = useState(value.join('\n'));
  return (
    <div className="field">
      <label>
        <span>{label}</span>
        <textarea
          data-testid={`field-${name}`}
          aria-label={label}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            const lines = e.target.value.split('\n').filter((l) => l.trim() !== '');
            onChange(lines.length ? lines : undefined);
          }}
        />
      </label>
      <FieldError error={error} testId={`field-${name}-error`} />
    </div>
  );
}

/** Rows the user adds and removes (inputs, side inputs, models, variables), each drawn by `row`. */
export function RowsField<T>({
  name,
  legend,
  rows,
  blank,
  onChange,
  row,
  addLabel,
  error,
  keepOne = false,
}: {
  name: string;
  legend: string;
  rows: T[];
  blank: T;
  onChange(rows: T[]): void;
  row(item: T, set: (next: T) => void, index: number): ReactNode;
  addLabel: string;
  error?: string | null;
  /** The list needs at least one row (inputs): its last row cannot be removed. */
  keepOne?: boolean;
}) {
  return (
    <fieldset className="rows" data-testid={`rows-${name}`}>
      <legend>{legend}</legend>
      {rows.map((item, i) => (
        <div className="row-item" key={i} data-testid={`${name}-row`}>
          {row(item, (next) => onChange(rows.map((r, j) => (j === i ? next : r))), i)}
          <button
            type="button"
            aria-label={`Remove ${name} ${i + 1}`}
            disabled={keepOne && rows.length === 1}
            onClick={() => onChange(rows.filter((_, j) => j !== i))}
          >
            Remove
          </button>
        </div>
      ))}
      <button type="button" data-testid={`add-${name}`} onClick={() => onChange([...rows, blank])}>
        {addLabel}
      </button>
      <FieldError error={error} testId={`field-${name}-error`} />
    </fieldset>
  );
}
