// The resource monitor of a run: every second while the run is active it samples the node (CPU,
// memory, the run folder's disk, each GPU in use) and every worker with the interpreters and
// subprocesses it started. Samples go to listeners (the leader turns them into 'metrics' events)
// and into a bounded history for redrawing graphs; every `intervalS` seconds they also go to the
// perf files of the log tree (logs/perf/<node>/...). A node on a cluster agent is sampled there, by
// the same monitor; its monitor here only takes in those samples (remote) and writes them the same way.

import type { NodeSample, ProcessSample } from '../../common/events';
import { GpuSampler } from './gpuSampler';
import { SampleHistory } from './history';
import { LinuxNodeSampler, type NodeFigures, diskUsage, sampleWithSystemInformation } from './nodeSampler';
import { PerfFileWriter, systemListing } from './perfFiles';
import { ProcessTreeSampler, type TreeSample } from './processTree';
import { procListing } from './procfs';

export { oomFinding, formatBytes, type OomContext } from './oom';
export { readOomCounters, type OomCounters } from './oomCounters';
export {
  DISK_CSV,
  DISK_CSV_HEADER,
  NODE_CSV,
  PROCESSES_CSV,
  PROCESSES_CSV_HEADER,
  listingPath,
  nodeCsvHeader,
} from './perfFiles';

export interface ResourceMonitorOptions {
  nodeId: string;
  /** logs/perf/<node> of the run. */
  perfDir: string;
  /** The run folder: its filesystem is the disk sampled. */
  runDir: string;
  /** Seconds between perf-file checks (resource_monitor_interval); 0 writes no perf files. */
  intervalS: number;
  /** Milliseconds between samples; 1000 by default. */
  sampleMs?: number;
  /** GPU indexes in use: sampled through nvidia-smi; none, no nvidia-smi call. */
  gpus: number[];
  /** Clock for sample times (epoch ms); tests may pin it. */
  now?: () => number;
  /** Where nvidia-smi is looked up (PATH); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Sample the leader itself (its own process, not its workers) as "leader". Default true. */
  includeLeader?: boolean;
  /** Linux: walk all of /proc for new subprocesses every N samples (default 5). */
  scanEvery?: number;
  /** Samples kept in the history before it thins out; default 4 h at 1 Hz. */
  historyMaxPoints?: number;
  /**
   * The node is on another machine (a cluster agent): nothing is sampled here, its agent's samples
   * come in through ingest(), and the agent says when a perf-file check is due (with its listing).
   */
  remote?: boolean;
}

/** This machine's process listing, as a perf-file check writes it. */
export async function processListing(): Promise<string> {
  return (await systemListing()) ?? (process.platform === 'linux' ? procListing() : '');
}

/** Whether a perf-file check is due at `t`: at the first sample, then every intervalS seconds. */
export function checkDue(lastCheck: number | null, t: number, intervalS: number, sampleMs: number): boolean {
  return lastCheck === null || t - lastCheck >= intervalS * 1000 - sampleMs / 2;
}

type SampleListener = (node: NodeSample, processes: ProcessSample[]) => void;

/** Samples kept per process for lastSamples(), also after the process exited. */
const RECENT_PER_PROCESS = 120;
/** Processes whose recent samples are kept (a long run restarts workers many times). */
const RECENT_PROCESSES = 256;

export class ResourceMonitor {
  private readonly opts: ResourceMonitorOptions;
  private readonly sampleMs: number;
  private readonly now: () => number;
  private readonly linux = process.platform === 'linux';
  private readonly tree: ProcessTreeSampler;
  private readonly nodeSampler: LinuxNodeSampler | null;
  private readonly gpuSampler: GpuSampler;
  private readonly samples: SampleHistory;
  private perf: PerfFileWriter | null = null;
  private readonly listeners: SampleListener[] = [];
  private readonly errorListeners: Array<(error: Error) => void> = [];
  private readonly recent = new Map<string, ProcessSample[]>();
  private readonly selfOnly = new Set<string>();
  private roots = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private writes: Promise<void> = Promise.resolve();
  private lastCheck: number | null = null;
  private last: NodeSample | null = null;
  private started = false;
  private stopped = false;

  constructor(opts: ResourceMonitorOptions) {
    this.opts = opts;
    this.sampleMs = Math.max(50, opts.sampleMs ?? 1000);
    this.now = opts.now ?? Date.now;
    if (opts.includeLeader ?? true) this.selfOnly.add('leader');
    this.tree = new ProcessTreeSampler({ scanEvery: opts.scanEvery, selfOnly: [...this.selfOnly] });
    this.nodeSampler = this.linux ? new LinuxNodeSampler() : null;
    this.gpuSampler = new GpuSampler(opts.gpus, opts.env);
    this.samples = new SampleHistory(opts.historyMaxPoints);
    // A remote node's GPUs are its agent's: known from its first sample.
    if (opts.intervalS > 0 && !opts.remote) this.perf = this.perfWriter(opts.gpus);
    this.setProcesses([]);
  }

  /** The workers to follow now (the leader calls this whenever one starts or exits). */
  setProcesses(list: Array<{ process: string; pid: number }>): void {
    const roots = new Map<string, number>();
    if (this.selfOnly.has('leader')) roots.set('leader', process.pid);
    for (const { process: name, pid } of list) roots.set(name, pid);
    this.roots = roots;
    this.tree.setRoots(roots);
  }

  onSample(listener: SampleListener): void {
    this.listeners.push(listener);
  }

  /** Failures to write perf files (the run goes on without them). */
  onError(listener: (error: Error) => void): void {
    this.errorListeners.push(listener);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.opts.remote) return;
    // A first reading, so that the first sample already has CPU figures over one interval.
    if (this.linux) this.tree.sample();
    this.timer = setInterval(() => {
      if (this.ticking || this.stopped) return; // never two samples at once
      this.ticking = this.tick().finally(() => {
        this.ticking = null;
      });
    }, this.sampleMs);
    this.timer.unref();
  }

  /** Stops sampling; resolves once the last files are written. Nothing is written after. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await this.gpuSampler.settle();
    await this.writes;
  }

  /** The last `n` samples of a process (also after it exited), oldest first: for the OOM report. */
  lastSamples(process: string, n = 10): ProcessSample[] {
    return (this.recent.get(process) ?? []).slice(-n);
  }

  /** The last sample of the node, for the OOM report's memory limit; null before the first. */
  lastNode(): NodeSample | null {
    return this.last;
  }

  /**
   * A sample taken elsewhere (remote nodes): it goes where this monitor's own samples go. A
   * `listing` (the agent's process listing) means a perf-file check is due now.
   */
  ingest(node: NodeSample, processes: ProcessSample[], listing?: string): void {
    if (this.stopped) return;
    this.record(node, processes, listing);
  }

  /** Every sample of the run so far (thinned out beyond the history's size), for redrawing graphs. */
  history(): { node: NodeSample[]; processes: ProcessSample[][] } {
    return this.samples.get();
  }

  private async tick(): Promise<void> {
    try {
      const t = this.now();
      let figures: NodeFigures;
      let trees: TreeSample[];
      if (this.nodeSampler) {
        figures = this.nodeSampler.sample();
        trees = this.tree.sample();
      } else {
        const r = await sampleWithSystemInformation(this.roots, this.selfOnly);
        figures = r.node;
        trees = r.processes;
      }
      const [disk, gpus] = await Promise.all([diskUsage(this.opts.runDir), this.gpuSampler.sample()]);
      if (this.stopped) return;
      const node: NodeSample = {
        t,
        ...figures,
        diskUsedBytes: disk.usedBytes,
        diskTotalBytes: disk.totalBytes,
        gpus,
      };
      const processes: ProcessSample[] = trees.map(({ process: name, pid, cpuPercent, rssBytes }) => ({
        process: name,
        pid,
        cpuPercent,
        rssBytes,
      }));
      this.record(node, processes);
    } catch (error) {
      this.fail(error);
    }
  }

  private record(node: NodeSample, processes: ProcessSample[], listing?: string): void {
    try {
      this.last = node;
      this.remember(processes);
      this.samples.push(node, processes);
      for (const listener of this.listeners) {
        try {
          listener(node, processes);
        } catch (error) {
          this.fail(error);
        }
      }
      this.check(node, processes, listing);
    } catch (error) {
      this.fail(error);
    }
  }

  private remember(processes: ProcessSample[]): void {
    for (const p of processes) {
      let list = this.recent.get(p.process);
      if (!list) {
        list = [];
        this.recent.set(p.process, list);
        if (this.recent.size > RECENT_PROCESSES) {
          const oldest = this.recent.keys().next().value;
          if (oldest !== undefined) this.recent.delete(oldest);
        }
      }
      list.push(p);
      if (list.length > RECENT_PER_PROCESS) list.splice(0, list.length - RECENT_PER_PROCESS);
    }
  }

  /** A perf-file check when one is due: the first sample, then every intervalS seconds. */
  private check(node: NodeSample, processes: ProcessSample[], listing?: string): void {
    if (this.opts.intervalS <= 0) return;
    if (this.opts.remote) this.perf ??= this.perfWriter(node.gpus.map((g) => g.index));
    if (!this.perf) return;
    this.perf.observe(processes);
    const due = this.opts.remote
      ? listing !== undefined
      : checkDue(this.lastCheck, node.t, this.opts.intervalS, this.sampleMs);
    if (!due) return;
    this.lastCheck = node.t;
    // The writer keeps the checks in order: its latest write settles after the ones before.
    this.writes = this.perf.write(node, processes, listing).catch((error: unknown) => this.fail(error));
  }

  private perfWriter(gpus: number[]): PerfFileWriter {
    return new PerfFileWriter(this.opts.perfDir, this.opts.runDir, gpus, () =>
      this.linux ? procListing() : '',
    );
  }

  private fail(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    for (const listener of this.errorListeners) listener(e);
  }
}
