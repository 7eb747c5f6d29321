// The Entry script step: the job's name, its source folder, the script and the runtime it runs in.

import { RUNTIMES } from '../../../../common/specSchema';
import { resolveFrom } from '../../../../common/specFilePaths';
import { PathField } from '../FileBrowser';
import { SelectField, shown } from './fields';
import { ScriptFacts } from './ScriptFacts';
import { SpecField } from './SpecField';
import type { StepProps } from './stepProps';

export function EntryScriptStep(p: StepProps) {
  const { draft, set, errors, paths } = p;
  const entryScript = typeof draft.entry_script === 'string' ? draft.entry_script : '';
  return (
    <>
      <SpecField form={p} name="name" label="Job name" placeholder="score-images" />
      <PathField
        label="Source folder (default: the spec's folder)"
        value={shown(draft.source_directory)}
        onChange={(v) => set('source_directory', v === '' ? undefined : v)}
        kind="dir"
        testId="field-source_directory"
        error={errors.source_directory}
        base={paths.specBase}
      />
      <PathField
        label="Entry script (in the source folder)"
        value={entryScript}
        onChange={(v) => set('entry_script', v === '' ? undefined : v)}
        kind="file"
        testId="field-entry_script"
        error={errors.entry_script}
        base={paths.sourceBase}
      />
      <ScriptFacts path={entryScript ? resolveFrom(paths.sourceDir, entryScript) : ''} />
      <SelectField
        name="runtime"
        label="Runtime (default: by the entry script's extension)"
        value={shown(draft.runtime)}
        options={['', ...RUNTIMES]}
        onChange={(v) => set('runtime', v || undefined)}
      />
    </>
  );
}
