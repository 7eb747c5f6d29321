import { describe, expect, it } from 'vitest';
import {
  SPEC_KEYS,
  formatSpecIssues,
  parseSpecFile,
  specFileSchema,
  validateSpecField,
  formatProblem,
} from '../../src/common/specSchema';

const minimal = { name: 'score-digits', entry_script: 'score.py', inputs: [{ path: './data' }] };

function problems(raw: unknown): string[] {
  const r = parseSpecFile(raw);
  return r.ok ? [] : r.problems.map(formatProblem);
}

describe('defaults', () => {
  it('fills every default of prs-behaviour.md', () => {
    const r = parseSpecFile(minimal);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toEqual({
      name: 'score-digits',
      entry_script: 'score.py',
      inputs: [{ path: './data', type: 'files' }],
      side_inputs: [],
      error_threshold: -1,
      allowed_failed_count: -1,
      allowed_failed_percent: 100,
      output_action: 'append_row',
      append_row_file_name: 'parallel_run_step.txt',
      node_count: 1,
      process_count_per_node: 'auto',
      gpus: 'auto',
      run_invocation_timeout: 60,
      run_max_try: 3,
      logging_level: 'INFO',
      arguments: [],
      models: {},
      environment_variables: {},
      resource_monitor_interval: 600,
      allow_reuse: true,
    });
  });

  it('keeps every key of the contract', () => {
    const full = {
      ...minimal,
      source_directory: './src',
      runtime: 'python',
      python: '/usr/bin/python3',
      inputs: [
        {
          path: './data/images',
          type: 'files',
          pattern: '**/*.wav',
          partition_format: '{user}/{season}/{genres}.wav',
        },
      ],
      side_inputs: [{ name: 'labels', path: './labels' }],
      mini_batch_size: 5,
      partition_keys: ['user', 'season'],
      error_threshold: 3,
      allowed_failed_count: 2,
      allowed_failed_percent: 12.5,
      output_action: 'summary_only',
      append_row_file_name: 'out.csv',
      node_count: 2,
      process_count_per_node: 4,
      gpus: [0, 1],
      run_invocation_timeout: 30,
      run_max_try: 1,
      logging_level: 'DEBUG',
      arguments: ['--model_name', 'iris', '--n', 5, '--flag', true],
      models: { iris: './models/iris.pkl' },
      environment_variables: { TOKENIZERS_PARALLELISM: false, N: 3 },
      resource_monitor_interval: 0,
      profiling_module: 'cProfile',
      allow_reuse: false,
    };
    expect(Object.keys(full).sort()).toEqual([...SPEC_KEYS].sort());
    const r = parseSpecFile(full);
    expect(problems(full)).toEqual([]);
    if (!r.ok) return;
    expect(r.value.arguments).toEqual(['--model_name', 'iris', '--n', '5', '--flag', 'True']);
    expect(r.value.environment_variables).toEqual({ TOKENIZERS_PARALLELISM: 'false', N: '3' });
  });
});

describe('problems', () => {
  it('reports every problem at once, each as key.path: what is wrong (what was expected)', () => {
    const bad = {
      name: 'Score_Digits',
      entry_script: 'score.py',
      inputs: [{ path: './a' }, { path: './b', type: 'table' }],
      node_count: 0,
      run_max_try: 'three',
      logging_level: 'VERBOSE',
      gpus: [0, -1],
      minibatch_size: 10,
      side_inputs: [{ name: 'labels', path: './labels', extra: 1 }],
    };
    expect(problems(bad).sort()).toEqual(
      [
        'name: "Score_Digits" is not a valid job name (expected 3-32 characters: lowercase letters, digits and dashes, starting with a letter and not ending with a dash)',
        'inputs.1.type: "table" is not a valid input type (expected files or tabular)',
        'node_count: 0 is not a valid node count (expected a whole number >= 1)',
        'run_max_try: "three" is not a valid attempt count (expected a whole number >= 1)',
        'logging_level: "VERBOSE" is not a valid logging level (expected WARNING, INFO or DEBUG)',
        'gpus.1: -1 is not a valid device index (expected a whole number >= 0)',
        `minibatch_size: unknown key (expected one of ${SPEC_KEYS.join(', ')})`,
        'side_inputs.0.extra: unknown key (expected one of name, path)',
      ].sort(),
    );
  });

  it('says what is missing', () => {
    expect(problems({})).toEqual([
      'name: missing (expected 3-32 characters: lowercase letters, digits and dashes, starting with a letter and not ending with a dash)',
      'entry_script: missing (expected a path to a .py, .js, .mjs, .cjs or .ts file)',
      'inputs: missing (expected a list of one or more inputs)',
    ]);
    expect(problems({ ...minimal, inputs: [] })).toEqual([
      'inputs: an empty list is not a valid input list (expected a list of one or more inputs)',
    ]);
    expect(problems({ ...minimal, inputs: [{ type: 'files' }] })).toEqual([
      'inputs.0.path: missing (expected a folder, a file or a glob)',
    ]);
  });

  it('refuses a document that is not a mapping', () => {
    expect(problems(['a'])).toEqual([
      'spec: a list is not a valid job spec (expected a mapping of keys such as name, entry_script, inputs)',
    ]);
  });

  it('formats zod issues from a plain safeParse too', () => {
    const r = specFileSchema.safeParse({ ...minimal, output_action: 'append' }, { reportInput: true });
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(formatSpecIssues(r.error.issues)).toEqual([
      'output_action: "append" is not a valid output action (expected append_row or summary_only)',
    ]);
    // Without reportInput the value is not known, but the key and the expectation still are.
    const r2 = specFileSchema.safeParse({ ...minimal, output_action: 'append' });
    if (r2.success) return;
    expect(formatSpecIssues(r2.error.issues)).toEqual([
      'output_action: not a valid output action (expected append_row or summary_only)',
    ]);
  });
});

describe('inputs', () => {
  it('refuses mixed input types', () => {
    const spec = {
      ...minimal,
      inputs: [{ path: './a' }, { path: './b.csv', type: 'tabular' }, { path: './c', type: 'files' }],
    };
    expect(problems(spec)).toEqual([
      'inputs.1.type: "tabular" differs from inputs.0.type "files" (expected every input of one type: all files or all tabular)',
    ]);
  });

  it('allows partition_format on files only and format on tabular only', () => {
    expect(
      problems({
        ...minimal,
        inputs: [{ path: './t.csv', type: 'tabular', format: 'csv', partition_format: '{a}/x.csv' }],
      }),
    ).toEqual(['inputs.0.partition_format: not allowed on a tabular input (expected only on files inputs)']);
    expect(problems({ ...minimal, inputs: [{ path: './d', format: 'csv' }] })).toEqual([
      'inputs.0.format: not allowed on a files input (expected only on tabular inputs)',
    ]);
    expect(problems({ ...minimal, inputs: [{ path: './d', type: 'tabular', format: 'xlsx' }] })).toEqual([
      'inputs.0.format: "xlsx" is not a valid tabular format (expected csv, tsv, jsonl or parquet)',
    ]);
  });

  it('checks partition_keys against partition_format on files inputs', () => {
    const spec = {
      ...minimal,
      inputs: [{ path: './music', partition_format: '{user}/{season}/{genres}.wav' }],
      partition_keys: ['user', 'year', 'user'],
    };
    expect(problems(spec)).toEqual([
      'partition_keys.2: "user" is listed twice (expected distinct names)',
      'partition_keys.1: "year" is not a placeholder of inputs.0.partition_format (expected one of user, season, genres)',
    ]);
    expect(problems({ ...minimal, partition_keys: ['user'] })).toEqual([
      'inputs.0.partition_format: missing: partition_keys on files inputs need one (expected a path template naming the keys, such as {store}/{brand}/*.csv)',
    ]);
    expect(problems({ ...minimal, inputs: [{ path: './x', partition_format: 'plain.wav' }] })).toEqual([
      'inputs.0.partition_format: "plain.wav" has no {name} placeholder (expected a path template such as {user}/{season}/{genres}.wav)',
    ]);
  });
});

describe('mini_batch_size', () => {
  const tabular = { ...minimal, inputs: [{ path: './t.csv', type: 'tabular' }] };
  it.each([1024, '1024', '512KB', '10MB', '1GB', '1gb', '2 mb'])('tabular accepts %j', (size) => {
    expect(problems({ ...tabular, mini_batch_size: size })).toEqual([]);
  });
  it.each([1, 10, '10'])('files accepts %j', (size) => {
    expect(problems({ ...minimal, mini_batch_size: size })).toEqual([]);
  });
  it('refuses a size for files and a word for tabular', () => {
    expect(problems({ ...minimal, mini_batch_size: '1MB' })).toEqual([
      'mini_batch_size: "1MB" is not a valid mini-batch size for files inputs (expected a whole number of files >= 1)',
    ]);
    expect(problems({ ...minimal, mini_batch_size: 0 })).toEqual([
      'mini_batch_size: 0 is not a valid mini-batch size for files inputs (expected a whole number of files >= 1)',
    ]);
    expect(problems({ ...tabular, mini_batch_size: '1.5MB' })).toEqual([
      'mini_batch_size: "1.5MB" is not a valid mini-batch size for tabular inputs (expected a size in bytes > 0 such as 1024, 512KB, 10MB, 1GB)',
    ]);
  });
});

describe('name', () => {
  it.each(['abc', 'score-digits', 'a1b', 'a'.repeat(32), 'job-2-x'])('accepts %s', (name) => {
    expect(problems({ ...minimal, name })).toEqual([]);
  });
  it.each(['ab', 'a'.repeat(33), '1abc', 'abc-', 'Abc', 'a_bc', 'a b c', '-abc', ''])(
    'refuses %j',
    (name) => {
      expect(problems({ ...minimal, name })).toEqual([
        `name: ${JSON.stringify(name)} is not a valid job name (expected 3-32 characters: lowercase letters, digits and dashes, starting with a letter and not ending with a dash)`,
      ]);
    },
  );
});

describe('runtime', () => {
  it('needs a known extension or a runtime, and a runtime that fits', () => {
    expect(problems({ ...minimal, entry_script: 'score.rb' })).toEqual([
      'entry_script: "score.rb" has no known runtime (expected a .py, .js, .mjs, .cjs or .ts file, or runtime: python | node)',
    ]);
    expect(problems({ ...minimal, entry_script: 'score', runtime: 'python' })).toEqual([]);
    expect(problems({ ...minimal, entry_script: 'score.py', runtime: 'node' })).toEqual([
      'runtime: "node" cannot run "score.py" (expected python for a .py file)',
    ]);
  });
});

describe('other keys', () => {
  it('checks names, indexes and values', () => {
    expect(
      problems({
        ...minimal,
        side_inputs: [
          { name: 'labels', path: 'a' },
          { name: 'labels', path: 'b' },
        ],
        environment_variables: { '1BAD': 'x', OK: null },
        gpus: [1, 1],
        append_row_file_name: 'out/x.txt',
        allowed_failed_percent: 150,
        process_count_per_node: 0,
      }).sort(),
    ).toEqual(
      [
        'side_inputs.1.name: "labels" is used twice (expected distinct side input names)',
        'environment_variables.1BAD: "1BAD" is not a valid variable name (expected letters, digits and _, not starting with a digit)',
        'environment_variables.OK: null is not a valid variable value (expected a string, number or boolean)',
        'gpus.1: 1 is listed twice (expected distinct device indexes)',
        'append_row_file_name: "out/x.txt" is not a valid file name (expected a file name without folders)',
        'allowed_failed_percent: 150 is not a valid percent (expected a number from 0 to 100)',
        'process_count_per_node: 0 is not a valid process count (expected auto or a whole number from 1 to 1024)',
      ].sort(),
    );
    expect(problems({ ...minimal, gpus: 'none', process_count_per_node: 'auto' })).toEqual([]);
  });
});

describe('validateSpecField', () => {
  it('validates one key for a form', () => {
    expect(validateSpecField('name', 'ok-name')).toBeNull();
    expect(validateSpecField('name', 'x')).toBe(
      'name: "x" is not a valid job name (expected 3-32 characters: lowercase letters, digits and dashes, starting with a letter and not ending with a dash)',
    );
    expect(validateSpecField('node_count', 2)).toBeNull();
    expect(validateSpecField('inputs', [{ path: 'a' }, { path: 'b', type: 'tabular' }])).toBe(
      'inputs.1.type: "tabular" differs from inputs.0.type "files" (expected every input of one type: all files or all tabular)',
    );
    expect(validateSpecField('nodes', 2)).toMatch(/^nodes: unknown key \(expected one of name, /);
  });
  it('uses the context for keys that depend on others', () => {
    const tabular = { inputs: [{ path: 't.csv', type: 'tabular' }] };
    expect(validateSpecField('mini_batch_size', '10MB', tabular)).toBeNull();
    expect(validateSpecField('mini_batch_size', '10MB', { inputs: [{ path: 'd' }] })).toBe(
      'mini_batch_size: "10MB" is not a valid mini-batch size for files inputs (expected a whole number of files >= 1)',
    );
  });
});

describe('numbers past what a spec can hold', () => {
  const AT_MOST = 'at most 9007199254740991';
  it('says "too large", with the limit, for counts and sizes that are whole numbers as written', () => {
    expect(problems({ ...minimal, mini_batch_size: '12345678901234567890' })).toEqual([
      expect.stringMatching(
        new RegExp(`^mini_batch_size: "12345678901234567890" is too large \\(expected .*, ${AT_MOST}\\)$`),
      ),
    ]);
    const tabular = { ...minimal, inputs: [{ path: './t.csv', type: 'tabular' }] };
    expect(problems({ ...tabular, mini_batch_size: '99999999999999GB' })).toEqual([
      expect.stringMatching(/^mini_batch_size: "99999999999999GB" is too large/),
    ]);
    expect(problems({ ...minimal, run_max_try: 1e20 })).toEqual([
      `run_max_try: 100000000000000000000 is too large (expected a whole number >= 1, ${AT_MOST})`,
    ]);
  });

  it('names Infinity (1e400 in a file) instead of writing it as null', () => {
    expect(problems({ ...minimal, run_invocation_timeout: Infinity })).toEqual([
      `run_invocation_timeout: Infinity is too large (expected a number of seconds > 0, ${AT_MOST})`,
    ]);
  });

  it('still calls a fraction or a negative count what it is', () => {
    expect(problems({ ...minimal, run_max_try: 2.5 })).toEqual([
      'run_max_try: 2.5 is not a valid attempt count (expected a whole number >= 1)',
    ]);
  });
});
