// The job being made in the wizard: the draft, the spec file it came from or goes to, and opening,
// saving and exporting it through the host.

import { useEffect, useMemo, useState } from 'react';
import type { ValidateResult } from '../../../../common/api';
import { validateSpecField } from '../../../../common/specSchema';
import { dirOf, rebasePaths, resolveFrom } from '../../../../common/specFilePaths';
import { useStore } from '../../store';
import { errText, useHostQuery } from '../useHostQuery';
import { shown, type Draft } from './fields';
import { specPaths, type SpecPaths } from './specPaths';

/** Keys every draft shows an error for once the user has been near them. */
const REQUIRED = ['name', 'entry_script', 'inputs'];

const EMPTY: Draft = { inputs: [{ path: '', type: 'files' }] };

export interface DraftState {
  draft: Draft;
  /** '' for a job not saved yet. */
  specPath: string;
  specDir: string;
  paths: SpecPaths;
  /** Changed since it was opened or saved. */
  dirty: boolean;
  /** Changes when a spec is opened: the form's fields start again from it. */
  generation: number;
  /** Keys the user has set: their errors show before the Review step. */
  touched: ReadonlySet<string>;
  /** What the last open, save or export did. */
  notice: string | null;
  set(key: string, value: unknown): void;
  open(path: string): Promise<void>;
  /** Saves to `target` (default: the file open); true when the spec is on disk. */
  save(target?: string): Promise<boolean>;
  /** Exports the draft as an Azure ML v2 parallel job (default file: beside the spec). */
  exportV2(dest: string): Promise<void>;
}

const host = () => useStore.getState();

export function useDraft(initialPath?: string): DraftState {
  const [specPath, setSpecPath] = useState('');
  const [draft, setDraft] = useState<Draft>(EMPTY);
  /** The draft as the spec file on disk says it, or null when it is not on disk. */
  const [onDisk, setOnDisk] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [notice, setNotice] = useState<string | null>(null);
  const specDir = specPath ? dirOf(specPath) : '/';
  // The file browser starts in the spec's folder (FileBrowser.tsx reads it from the store).
  useEffect(() => useStore.setState({ specDir: specPath ? specDir : null }), [specPath, specDir]);

  const set = (key: string, value: unknown) => {
    setTouched((t) => new Set(t).add(key));
    setDraft((d) => {
      const next = { ...d };
      if (value === undefined) delete next[key];
      else next[key] = value;
      return next;
    });
  };

  const open = async (p: string) => {
    try {
      const content = await host().request('readSpecFile', { path: p });
      setDraft(content.spec);
      setTouched(new Set(Object.keys(content.spec)));
      setGeneration((g) => g + 1);
      if (content.source === 'azureml-v2') {
        // An imported job is saved as a spec beside it, so its relative paths keep working.
        const name = typeof content.spec.name === 'string' ? content.spec.name : 'job';
        setSpecPath(`${dirOf(content.path)}/${name}.prs.yaml`);
        setOnDisk(null);
        setNotice(
          `Imported Azure ML v2 job ${content.path}.` +
            (content.warnings.length ? ` Warnings: ${content.warnings.join('; ')}` : '') +
            (content.problems.length ? ` Problems: ${content.problems.join('; ')}` : ''),
        );
      } else {
        setSpecPath(content.path);
        setOnDisk(JSON.stringify(content.spec));
        setNotice(`Opened ${content.path}.`);
      }
    } catch (err) {
      setNotice(errText(err));
    }
  };
  // "Edit in wizard" opens the run's spec.
  useEffect(() => {
    if (initialPath) void open(initialPath);
  }, [initialPath]);

  // A spec saved into another folder has its paths rebased onto that folder; replacing a file other
  // than the one open is asked first.
  const save = async (target = specPath): Promise<boolean> => {
    if (!target) return false;
    const moved = target !== specPath;
    const spec = moved ? rebasePaths(draft, specPath ? specDir : null, dirOf(target)) : draft;
    try {
      const replace = !moved && onDisk !== null;
      // Saved as… from a spec file: the new file keeps that file's comments and layout.
      const template = moved && onDisk !== null ? specPath : undefined;
      let r = await host().request('saveSpec', { path: target, spec, overwrite: replace, template });
      if (!r.saved) {
        if (!window.confirm(`${target} exists. Replace it?`)) return false;
        r = await host().request('saveSpec', { path: target, spec, overwrite: true, template });
      }
      if (r.saved) {
        setDraft(spec);
        if (moved) setGeneration((g) => g + 1);
        setSpecPath(r.path);
        setOnDisk(JSON.stringify(spec));
        setNotice(`Saved ${r.path}.`);
        return true;
      }
    } catch (err) {
      setNotice(errText(err));
    }
    return false;
  };

  const exportV2 = async (v2Path: string) => {
    const dest = v2Path || `${specDir === '/' ? '' : specDir}/${shown(draft.name) || 'job'}.azureml.yaml`;
    // Its paths are relative to the file exported, as Azure ML reads them.
    const spec = rebasePaths(draft, specPath ? specDir : null, dirOf(resolveFrom(specDir, dest)));
    try {
      let r = await host().request('saveSpec', { path: dest, spec, azureMlV2: true });
      if (!r.saved && window.confirm(`${dest} exists. Replace it?`))
        r = await host().request('saveSpec', { path: dest, spec, azureMlV2: true, overwrite: true });
      if (r.saved)
        setNotice(
          `Exported ${r.path} as an Azure ML v2 parallel job.${r.warnings.length ? ` ${r.warnings.join('; ')}` : ''}`,
        );
    } catch (err) {
      setNotice(errText(err));
    }
  };

  return {
    draft,
    specPath,
    specDir,
    paths: specPaths(draft, specDir, specPath !== ''),
    dirty: onDisk !== JSON.stringify(draft),
    generation,
    touched,
    notice,
    set,
    open,
    save,
    exportV2,
  };
}

/**
 * Each key's error, field by field, with the CLI's schema and messages: for the keys the draft has
 * or the user has been near, and for every required key once `all` (the Review step).
 */
export function useFieldErrors(draft: Draft, touched: ReadonlySet<string>, all: boolean) {
  return useMemo(() => {
    const out: Record<string, string | null> = {};
    for (const k of new Set([...Object.keys(draft), ...REQUIRED])) {
      if (draft[k] === undefined && !touched.has(k) && !all) continue;
      out[k] = validateSpecField(k, draft[k], draft);
    }
    return out;
  }, [draft, touched, all]);
}

/** The whole draft as `prs validate` sees it (disk checks included), once it has settled. */
export function useVerdict(draft: Draft, specDir: string): ValidateResult | null {
  const { result, error } = useHostQuery('validateDraft', { spec: draft, specDir }, 350);
  return error === null ? result : { ok: false, problems: [error] };
}
