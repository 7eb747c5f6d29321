// What the inputs make, recounted by the host as they change: files, bytes, mini-batches, a
// table's first rows, and the partition keys to choose from.

import type { InputsInfo } from '../../../../common/api';
import { formatBytes } from '../../../../common/format';
import { useHostQuery } from '../useHostQuery';
import type { Draft } from './fields';

type Input = Record<string, unknown>;

/** Files, bytes and mini-batches of the inputs as they stand, recounted as they change. */
function useInputsInfo(draft: Draft, specDir: string): InputsInfo | null {
  const spec = {
    inputs: draft.inputs,
    mini_batch_size: draft.mini_batch_size,
    partition_keys: draft.partition_keys,
  };
  const { result, error } = useHostQuery('inspectInputs', { spec, specDir }, 400);
  if (error === null) return result;
  const none = { files: 0, bytes: 0, partial: false, miniBatches: null, miniBatchesPartial: false };
  return { ...none, columns: [], rows: [], problem: error };
}

export function InputFacts({ draft, specDir }: { draft: Draft; specDir: string }) {
  const info = useInputsInfo(draft, specDir);
  if (!info) return <p className="muted">Counting…</p>;
  const atLeast = (b: boolean) => (b ? 'at least ' : '');
  return (
    <div className="facts">
      {info.problem && <p className="bad-text">{info.problem}</p>}
      <p data-testid="inputs-count">
        {atLeast(info.partial)}
        {info.files} file(s), {formatBytes(info.bytes)}
      </p>
      <p data-testid="minibatch-count">
        {info.miniBatches === null
          ? 'mini-batches: —'
          : `${atLeast(info.miniBatchesPartial)}${info.miniBatches} mini-batch(es)`}
      </p>
      {info.columns.length > 0 && (
        <div className="table-preview">
          <table data-testid="table-preview">
            <thead>
              <tr>
                {info.columns.map((c) => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {info.rows.map((r, i) => (
                <tr key={i}>
                  {r.map((v, j) => (
                    <td key={j}>{typeof v === 'string' ? v : JSON.stringify(v)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export function PartitionKeys({
  draft,
  specDir,
  onChange,
}: {
  draft: Draft;
  specDir: string;
  onChange(keys: string[]): void;
}) {
  const info = useInputsInfo({ inputs: draft.inputs }, specDir);
  const chosen = Array.isArray(draft.partition_keys) ? (draft.partition_keys as string[]) : [];
  const first = (Array.isArray(draft.inputs) ? draft.inputs[0] : {}) as Input;
  const fromFormat =
    typeof first.partition_format === 'string'
      ? [...first.partition_format.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1])
      : [];
  const names = [...new Set([...(info?.columns ?? []), ...fromFormat])];
  if (names.length === 0)
    return (
      <p className="muted">
        Partition keys: the table's columns (tabular) or the names of a partition format (files) show here.
      </p>
    );
  return (
    <fieldset className="keys" data-testid="partition-keys">
      <legend>Partition keys (one mini-batch per distinct combination)</legend>
      {names.map((n) => (
        <label key={n}>
          <input
            type="checkbox"
            checked={chosen.includes(n)}
            onChange={(e) => onChange(e.target.checked ? [...chosen, n] : chosen.filter((c) => c !== n))}
          />
          {n}
        </label>
      ))}
    </fieldset>
  );
}
