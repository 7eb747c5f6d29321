// An agent's resource samples: for each leader session it runs workers for, the same monitor a
// node on one machine has samples this machine and those workers' process trees (by the pids only
// the agent knows), and each sample goes to the session's leader, which writes logs/perf/<id>/.
// The agent, not the leader, says when a perf-file check is due: its listing is of this machine.

import type { NodeSample, ProcessSample } from '../../common/events';
import { checkDue, processListing, ResourceMonitor } from '../monitor';
import type { AgentSamples } from './wire';

interface Sampled {
  monitor: ResourceMonitor;
  workers: Map<string, number>;
  intervalS: number;
  lastCheck: number | null;
  /** One sample in flight at a time, in order (a listing takes a `ps` run). */
  sending: Promise<void>;
}

const SAMPLE_MS = 1000;

export class AgentSamplers {
  private readonly sessions = new Map<string, Sampled>();

  constructor(
    private readonly agent: string,
    private readonly gpus: number[],
    private readonly send: (session: string, message: AgentSamples) => Promise<void>,
  ) {}

  /**
   * A worker of `session` started with this pid. `diskDir` is in the run folder, so its filesystem
   * is the one sampled; no interval (a leader from before samples) samples nothing.
   */
  workerStarted(
    session: string,
    process: string,
    pid: number | undefined,
    intervalS: number | undefined,
    diskDir: string,
  ): void {
    if (pid === undefined || intervalS === undefined) return;
    let s = this.sessions.get(session);
    if (!s) {
      const monitor = new ResourceMonitor({
        nodeId: this.agent,
        perfDir: '',
        runDir: diskDir,
        // Files are the leader's to write.
        intervalS: 0,
        sampleMs: SAMPLE_MS,
        gpus: this.gpus,
        includeLeader: false,
      });
      const created: Sampled = {
        monitor,
        workers: new Map(),
        intervalS,
        lastCheck: null,
        sending: Promise.resolve(),
      };
      monitor.onSample((node, processes) => this.sample(session, created, node, processes));
      this.sessions.set(session, created);
      s = created;
      monitor.start();
    }
    s.workers.set(process, pid);
    s.monitor.setProcesses([...s.workers].map(([name, p]) => ({ process: name, pid: p })));
  }

  /**
   * A worker ended: a session with no worker left here is no longer sampled (so an agent keeps
   * nothing of the sessions it served; a replacement's monitor starts with a check).
   */
  workerEnded(session: string, process: string): void {
    const s = this.sessions.get(session);
    if (!s || !s.workers.delete(process)) return;
    s.monitor.setProcesses([...s.workers].map(([name, p]) => ({ process: name, pid: p })));
    if (s.workers.size > 0) return;
    this.sessions.delete(session);
    void s.monitor.stop();
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.monitor.stop().then(() => s.sending)));
  }

  private sample(session: string, s: Sampled, node: NodeSample, processes: ProcessSample[]): void {
    const check = s.intervalS > 0 && checkDue(s.lastCheck, node.t, s.intervalS, SAMPLE_MS);
    if (check) s.lastCheck = node.t;
    s.sending = s.sending.then(async () => {
      const listing = check ? await processListing() : undefined;
      await this.send(session, { k: 'samples', agent: this.agent, node, processes, listing });
    });
  }
}
