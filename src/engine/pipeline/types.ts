// A resolved Azure ML v2 pipeline: what the loader makes of pipeline.yml and its components, and
// what pipeline.json keeps so that `prs resume` runs the same graph. Plain JSON throughout.

/** What a node's input is bound to. Paths are absolute; outputs are found once the run folder exists. */
export type Binding =
  | { kind: 'path'; path: string; type: string }
  | { kind: 'literal'; value: string }
  | { kind: 'output'; node: string; output: string; type: string };

export interface NodeOutput {
  type: string;
  /** uri_file: a file; anything else a folder. */
  kind: 'file' | 'folder';
  /** Relative to the node's folder (posix separators). */
  rel: string;
}

interface NodeBase {
  name: string;
  /** Folder of the file that defines the node (its component, or the pipeline): relative paths resolve here. */
  baseDir: string;
  /** Set inputs only: an unset optional input is absent. */
  inputs: Record<string, Binding>;
  outputs: Record<string, NodeOutput>;
  /** Nodes whose outputs this one reads. */
  dependsOn: string[];
  environmentVariables: Record<string, string>;
}

export interface CommandNode extends NodeBase {
  type: 'command';
  /** As written, `$[[ ]]` parts already resolved; `${{inputs.x}}`/`${{outputs.y}}` still in it. */
  command: string;
  /** Absolute: the working directory. */
  code: string;
}

export interface ParallelNode extends NodeBase {
  type: 'parallel';
  /**
   * The v2 parallel job document of the node (component merged with the node's own keys), without
   * inputs, outputs and the keys with no local meaning; `$[[ ]]` parts already resolved.
   */
  job: Record<string, unknown>;
}

export type PipelineNode = CommandNode | ParallelNode;

export interface PipelineSpec {
  name: string;
  specPath: string;
  /** Pipeline outputs bound by a node (`${{parent.outputs.y}}`): name -> the node's output. */
  outputs: Record<string, { node: string; output: string }>;
  /** In the order written. */
  nodes: PipelineNode[];
  /** One line per key with no local meaning (compute, environment, ...). */
  notices: string[];
  /**
   * settings.continue_on_step_failure (Azure's default false): after a node fails, whether nodes
   * that do not depend on it still start. Running nodes finish either way.
   */
  continueOnStepFailure?: boolean;
}

export type NodeStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';

export interface NodeState {
  type: PipelineNode['type'];
  status: NodeStatus;
  startedAt?: string;
  endedAt?: string;
  durationS?: number;
  /** Relative to the pipeline's run folder. */
  dir: string;
  /** Why it failed or was skipped, in one sentence. */
  reason?: string;
  /** The file to open first, relative to the pipeline's run folder. */
  logFile?: string;
  mini_batches?: { total: number; succeeded: number; failed: number };
  items?: { succeeded: number; failed: number };
}
