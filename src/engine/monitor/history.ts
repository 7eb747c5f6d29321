// The samples of a run, kept so graphs can be redrawn after it. Bounded: once `maxPoints` samples
// are held (4 h at 1 Hz by default), every other one is dropped and from then on only every other
// sample is kept, and so on, so a long run keeps an even, coarser record of its whole length.

import type { NodeSample, ProcessSample } from '../../common/events';

export class SampleHistory {
  private node: NodeSample[] = [];
  private processes: ProcessSample[][] = [];
  private stride = 1;
  private count = 0;

  private readonly maxPoints: number;

  constructor(maxPoints = 4 * 3600) {
    // Even, so that halving always drops the newest sample (see push).
    this.maxPoints = Math.max(4, maxPoints + (maxPoints % 2));
  }

  push(node: NodeSample, processes: ProcessSample[]): void {
    const keep = this.count % this.stride === 0;
    this.count++;
    if (!keep) return;
    this.node.push(node);
    this.processes.push(processes);
    if (this.node.length >= this.maxPoints) {
      this.node = this.node.filter((_, i) => i % 2 === 0);
      this.processes = this.processes.filter((_, i) => i % 2 === 0);
      // The newest sample (odd position) was dropped; the next one kept must come a new stride after
      // the newest kept one, which is old stride + 1 pushes ago counting the one just dropped.
      this.count = this.stride + 1;
      this.stride *= 2;
    }
  }

  get(): { node: NodeSample[]; processes: ProcessSample[][] } {
    return { node: [...this.node], processes: [...this.processes] };
  }
}
