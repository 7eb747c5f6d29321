// The resolved job spec: what every other part of the product works from. The file format a user
// writes (YAML/JSON, relative paths, sizes as strings, Azure ML v2 names) is parsed and validated
// by specSchema.ts and resolved into this shape by the engine's spec loader; nothing downstream
// re-reads user text.

export type InputType = 'files' | 'tabular';
export type TabularFormat = 'csv' | 'tsv' | 'jsonl' | 'parquet';
/** Of CSV/TSV/JSONL text; MLTable's iso88591 is latin1. */
export type TextEncoding = 'utf8' | 'latin1' | 'windows1252';
export type Runtime = 'python' | 'node';
export type LoggingLevel = 'WARNING' | 'INFO' | 'DEBUG';
export type OutputAction = 'append_row' | 'summary_only';

export interface InputSpec {
  /** Absolute path: a folder (recursed), a file, or a glob. */
  path: string;
  type: InputType;
  /** Glob filter applied inside a folder input, relative to that folder. */
  pattern?: string;
  /** files only: "{user}/{season}/{genres}.wav" turns path parts into partition key values. */
  partition_format?: string;
  /** tabular only; when absent the loader fills it in from the extension. */
  format?: TabularFormat;
  /** tabular text only; absent: UTF-8. */
  encoding?: TextEncoding;
  /** A v2 `type: mltable` input read by its MLTable file (docs/job-spec.md, "MLTable"). */
  mltable?: MltableRead;
}

/** What an MLTable file's read step and transformations say about a tabular input's records. */
export interface MltableRead {
  /** Absolute path of the MLTable file: messages name it. */
  file: string;
  /** read_delimited's delimiter, when not ",". */
  delimiter?: string;
  header: 'all_files_same_headers' | 'all_files_different_headers' | 'from_first_file' | 'no_header';
  emptyAsString?: true;
  includePathColumn?: true;
  /** extract_columns_from_partition_format, as written. */
  partitionFormat?: string;
  /** take: the first n records of the whole table (every path of the MLTable file together). */
  take?: number;
  /** keep_columns / drop_columns, in the order the file gives them. */
  columnSteps?: Array<{ keep: string[] } | { drop: string[] }>;
}

export interface SideInput {
  name: string;
  /** Absolute path. */
  path: string;
}

/** An Azure ML v2 job output. Every output lies inside the run folder's outputs/, so a run folder stays self-contained. */
export interface JobOutput {
  /** uri_file: a file; uri_folder, mltable and model outputs: a folder. */
  kind: 'file' | 'folder';
  /** Relative to the run folder's outputs/ (posix separators). */
  path: string;
}

export interface JobSpec {
  name: string;
  /** Absolute path of the spec file this came from, when there is one. */
  spec_path?: string;
  /** Absolute path. */
  entry_script: string;
  /** Absolute path; the worker's working directory and import root. */
  source_directory: string;
  runtime: Runtime;
  /** Interpreter executable, venv or conda folder; undefined = python3 on PATH. */
  python?: string;
  inputs: InputSpec[];
  input_type: InputType;
  side_inputs: SideInput[];
  /** Files: a count of files. Tabular: bytes. */
  mini_batch_size: number;
  partition_keys?: string[];
  error_threshold: number;
  allowed_failed_count: number;
  allowed_failed_percent: number;
  output_action: OutputAction;
  append_row_file_name: string;
  /** A v2 append_row_to naming a folder output: the append_row file lies in it (see appendRowFile). */
  append_row_folder?: string;
  /** Azure ML v2 outputs by name: `${{outputs.<name>}}` in arguments is their path once a run folder exists. */
  outputs?: Record<string, JobOutput>;
  node_count: number;
  process_count_per_node: number | 'auto';
  gpus: 'auto' | 'none' | number[];
  run_invocation_timeout: number;
  run_max_try: number;
  logging_level: LoggingLevel;
  arguments: string[];
  /** name -> absolute path. */
  models: Record<string, string>;
  environment_variables: Record<string, string>;
  resource_monitor_interval: number;
  profiling_module?: string;
  allow_reuse: boolean;
}

/**
 * The append_row file, relative to the run folder: outputs/<append_row_file_name> (contracts.md §3),
 * or inside the output folder a v2 job's append_row_to names.
 */
export function appendRowFile(spec: Pick<JobSpec, 'append_row_file_name' | 'append_row_folder'>): string {
  return ['outputs', spec.append_row_folder, spec.append_row_file_name].filter(Boolean).join('/');
}
