// The wizard's paths as a spec file holds them: relative to the spec's folder (entry_script to
// source_directory), rebased when Save as… puts the spec somewhere else.

import { describe, expect, it } from 'vitest';
import { rebasePaths, relativeInside, resolveFrom } from '../../src/common/specFilePaths';

describe('wizard paths', () => {
  it('makes a path inside the folder relative, and leaves one outside it absolute', () => {
    expect(relativeInside('/jobs/digits', '/jobs/digits/data/images')).toBe('./data/images');
    expect(relativeInside('/jobs/digits/src', '/jobs/digits/src/score.py', true)).toBe('score.py');
    expect(relativeInside('/jobs/digits', '/jobs/digits')).toBe('.');
    expect(relativeInside('/jobs/digits', '/jobs/digits-old/data')).toBe('/jobs/digits-old/data');
    expect(relativeInside('/jobs/digits', '/usr/bin/python3')).toBe('/usr/bin/python3');
    expect(resolveFrom('/jobs/digits/src', '../data/./labels.csv')).toBe('/jobs/digits/data/labels.csv');
  });

  it('a job saved for the first time: absolute paths inside its folder become relative', () => {
    const draft = {
      name: 'digits',
      source_directory: '/jobs/digits/src',
      entry_script: '/jobs/digits/src/score.py',
      python: '/usr/bin/python3',
      inputs: [{ path: '/jobs/digits/data/images', type: 'files' }],
      side_inputs: [{ name: 'labels', path: '/shared/labels.csv' }],
      models: { digits: '/jobs/digits/models/digits.pkl' },
    };
    expect(rebasePaths(draft, null, '/jobs/digits')).toEqual({
      name: 'digits',
      source_directory: './src',
      entry_script: 'score.py',
      python: '/usr/bin/python3',
      inputs: [{ path: './data/images', type: 'files' }],
      side_inputs: [{ name: 'labels', path: '/shared/labels.csv' }],
      models: { digits: './models/digits.pkl' },
    });
  });

  it('saved as into another folder: relative paths still name the same files', () => {
    const draft = {
      entry_script: 'score.py',
      source_directory: './src',
      python: './venv/bin/python',
      inputs: [{ path: './data' }],
    };
    expect(rebasePaths(draft, '/jobs/a', '/jobs/a/specs')).toEqual({
      entry_script: 'score.py',
      source_directory: '/jobs/a/src',
      python: '/jobs/a/venv/bin/python',
      inputs: [{ path: '/jobs/a/data' }],
    });
    // Into the same folder, nothing changes, not even `data` to `./data`.
    const same = { entry_script: 'score.py', inputs: [{ path: 'data' }] };
    expect(rebasePaths(same, '/jobs/a', '/jobs/a')).toEqual(same);
  });

  it('keeps entry_script relative to the source folder when only the spec moves', () => {
    const draft = { entry_script: 'score.py', source_directory: '/jobs/a/src', inputs: [] };
    expect(rebasePaths(draft, '/elsewhere', '/jobs/a')).toEqual({
      entry_script: 'score.py',
      source_directory: './src',
      inputs: [],
    });
  });
});
