// The nodes of a job on this machine: node_count local pools (node ids 0…N-1), each with its own
// workers and its own resource monitor writing logs/perf/<id>/. GPUs are one machine's: a single
// assigner hands them out across every node. A cluster replaces this with remote pools.

import os from 'node:os';
import path from 'node:path';
import type { NodeSample, ProcessSample, RunEvent, RunNode } from '../common/events';
import type { JobSpec } from '../common/spec';
import { GpuAssigner } from './devices';
import type { WorkerLauncher } from './launcher';
import { LocalPool, realClock, workerConfig, type NodePool } from './leader';
import { LogFile, type RunPaths } from './logTree';
import { type OomCounters, oomFinding, readOomCounters, ResourceMonitor } from './monitor';

export interface LocalNodesOptions {
  spec: JobSpec;
  paths: RunPaths;
  launcher: WorkerLauncher;
  processCountPerNode: number;
  gpus: number[];
  /** The interpreter Python workers start. */
  python: string | undefined;
  /** Environment for every worker, before GPU assignment. */
  baseEnv: Record<string, string>;
  emit(event: RunEvent): void;
  /** The nodes are a cluster's agents: each node id's launcher and pool come from there. */
  remote?: RemoteNodes;
}

/**
 * Nodes on other machines (src/engine/cluster): each node id's workers start through a launcher
 * of its own, and the cluster adds what it knows (a lost agent) around the pool that supervises them.
 */
export interface RemoteNodes {
  /** Workers per node, from the agents' sizes when process_count_per_node is auto. */
  capacity: number;
  launcher(nodeId: string): WorkerLauncher;
  wrap(pool: NodePool, nodeId: string): NodePool;
  /** Each node id's agent as it is placed, beats, is lost or comes back (for the app's nodes panel). */
  onNodes?(listener: (node: RunNode) => void): void;
  /** The node's samples, taken on its machine by its agent: the node's monitor samples nothing here. */
  onSamples(nodeId: string, listener: (s: RemoteSamples) => void): void;
}

/** A sample from a remote node; `listing` (its machine's process listing) marks a perf-file check. */
export interface RemoteSamples {
  node: NodeSample;
  processes: ProcessSample[];
  listing?: string;
}

export interface LocalNodes {
  pools: NodePool[];
  /** Starts the monitors (the pools start with the leader). */
  startMonitors(): void;
  /** Stops the monitors and closes their sample files. */
  stopMonitors(): Promise<void>;
}

/** Node ids of a job on this machine: one simulated node per node_count. */
export function nodeIds(spec: JobSpec): string[] {
  return Array.from({ length: Math.max(1, spec.node_count) }, (_, i) => String(i));
}

export function localNodes(o: LocalNodesOptions): LocalNodes {
  const { spec, paths } = o;
  const assigner = new GpuAssigner(o.gpus);
  /** Each worker's out-of-memory kill counters when it started, to compare with at its death. */
  const oomBefore = new Map<string, OomCounters>();
  // Process names are job-wide (process000, process001, ... across every node), so a name alone
  // says which worker it was, in the journal, the events and the app.
  let nextProcess = 0;
  const nameWorker = () => `process${String(nextProcess++).padStart(3, '0')}`;
  // A cluster says which agent fills each node id; a node of this machine is this machine, and
  // its resource samples are its heartbeat.
  if (o.remote) o.remote.onNodes?.((node) => o.emit({ type: 'node', node }));
  const simulated = (nodeId: string, beatAt: number): RunNode => ({
    id: nodeId,
    name: `node ${nodeId}`,
    host: os.hostname(),
    processes: o.processCountPerNode,
    gpus: o.gpus,
    state: 'live',
    beatAt,
  });
  const nodes = nodeIds(spec).map((nodeId) => {
    const monitor = new ResourceMonitor({
      nodeId,
      perfDir: paths.perfDir(nodeId),
      runDir: paths.runDir,
      intervalS: spec.resource_monitor_interval,
      gpus: o.gpus,
      remote: o.remote !== undefined,
    });
    o.remote?.onSamples(nodeId, (s) => monitor.ingest(s.node, s.processes, s.listing));
    // Every sample is kept on disk too, so the app can redraw a finished run's graphs.
    const samples = new LogFile(path.join(paths.perfDir(nodeId), 'samples.jsonl'));
    monitor.onSample((node, processes) => {
      samples.write(JSON.stringify({ node, processes }) + '\n');
      o.emit({ type: 'metrics', nodeId, node, processes });
      if (!o.remote) o.emit({ type: 'node', node: simulated(nodeId, node.t) });
    });
    if (!o.remote) o.emit({ type: 'node', node: simulated(nodeId, Date.now()) });
    const pool = new LocalPool({
      nodeId,
      capacity: o.processCountPerNode,
      launcher: o.remote?.launcher(nodeId) ?? o.launcher,
      paths,
      cwd: spec.source_directory,
      baseEnv: o.baseEnv,
      gpus: assigner,
      config: (name, node) => workerConfig(spec, paths, o.python, name, node),
      nameWorker,
      runInvocationTimeoutS: spec.run_invocation_timeout,
      clock: realClock,
      emit: o.emit,
      onWorkersChanged: (workers) => {
        monitor.setProcesses(workers);
        for (const w of workers)
          if (!oomBefore.has(w.process)) oomBefore.set(w.process, readOomCounters(w.pid));
      },
      explainExit: (process, returnCode) => {
        const before = oomBefore.get(process);
        return oomFinding(process, returnCode, monitor.lastSamples(process), {
          nodeId,
          // A remote worker's memory is its agent's machine's (unknown before its first sample).
          memTotalBytes: o.remote ? monitor.lastNode()?.memTotalBytes : os.totalmem(),
          sampleIntervalS: 1,
          // The worker is gone: its cgroup is the one it had at the start, read through ours.
          counters: before && { before, after: readOomCounters() },
        });
      },
    });
    return { pool: o.remote ? o.remote.wrap(pool, nodeId) : pool, monitor, samples };
  });
  return {
    pools: nodes.map((n) => n.pool),
    startMonitors: () => nodes.forEach((n) => n.monitor.start()),
    stopMonitors: async () => {
      await Promise.all(nodes.map((n) => n.monitor.stop().then(() => n.samples.close())));
    },
  };
}
