// The Inputs step: every input (all of one type), and the side inputs every worker gets whole.

import { TABULAR_FORMATS } from '../../../../common/specSchema';
import { PathField } from '../FileBrowser';
import { FieldError, RowsField, SelectField, shown, TextField, type Draft } from './fields';
import { InputFacts } from './InputFacts';
import type { SpecPaths } from './specPaths';

type Row = Record<string, unknown>;

/** A row with `key` set to `value`, or without it when the value is empty. */
function withKey(row: Row, key: string, value: unknown): Row {
  const next = { ...row };
  if (value === undefined || value === '') delete next[key];
  else next[key] = value;
  if (key === 'path' && next.path === undefined) next.path = '';
  return next;
}

export function InputsStep({
  draft,
  paths,
  set,
  errors,
}: {
  draft: Draft;
  paths: SpecPaths;
  set(key: string, value: unknown): void;
  errors: Record<string, string | null>;
}) {
  const inputs = (Array.isArray(draft.inputs) ? draft.inputs : []) as Row[];
  const sides = (Array.isArray(draft.side_inputs) ? draft.side_inputs : []) as Row[];
  return (
    <>
      <RowsField<Row>
        name="input"
        legend="Inputs (one or more, all of one type)"
        rows={inputs.length ? inputs : [{ path: '', type: 'files' }]}
        blank={{ path: '', type: shown(inputs[0]?.type) || 'files' }}
        onChange={(rows) => set('inputs', rows)}
        addLabel="Add input"
        keepOne
        row={(input, setRow) => (
          <>
            <PathField
              label="Input folder, file or glob"
              value={shown(input.path)}
              onChange={(v) => setRow(withKey(input, 'path', v))}
              kind="dir"
              testId="field-input-path"
              base={paths.specBase}
            />
            <SelectField
              name="input-type"
              label="Type"
              value={shown(input.type) || 'files'}
              options={['files', 'tabular']}
              onChange={(v) => setRow(withKey(input, 'type', v))}
            />
            <TextField
              name="input-pattern"
              label="Pattern"
              placeholder="**/*.png"
              value={shown(input.pattern)}
              onChange={(v) => setRow(withKey(input, 'pattern', v))}
            />
            {input.type === 'tabular' ? (
              <SelectField
                name="input-format"
                label="Format"
                value={shown(input.format)}
                options={['', ...TABULAR_FORMATS]}
                onChange={(v) => setRow(withKey(input, 'format', v))}
              />
            ) : (
              <TextField
                name="input-partition_format"
                label="Partition format"
                placeholder="{user}/{season}/{genres}.wav"
                value={shown(input.partition_format)}
                onChange={(v) => setRow(withKey(input, 'partition_format', v))}
              />
            )}
          </>
        )}
      />
      <FieldError error={errors.inputs} testId="field-inputs-error" />
      <InputFacts draft={draft} specDir={paths.specDir} />
      <RowsField<Row>
        name="side_input"
        legend="Side inputs (not partitioned: every worker gets the whole file or folder)"
        rows={sides}
        blank={{ name: '', path: '' }}
        onChange={(rows) => set('side_inputs', rows.length ? rows : undefined)}
        addLabel="Add side input"
        error={errors.side_inputs}
        row={(side, setRow) => (
          <>
            <TextField
              name="side_input-name"
              label="Name"
              placeholder="labels"
              value={shown(side.name)}
              onChange={(v) => setRow({ ...side, name: v })}
            />
            <PathField
              label="Side input file or folder"
              value={shown(side.path)}
              onChange={(v) => setRow({ ...side, path: v })}
              kind="file"
              testId="field-side_input-path"
              base={paths.specBase}
            />
          </>
        )}
      />
    </>
  );
}
