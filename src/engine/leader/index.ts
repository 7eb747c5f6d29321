// The leader and its parts: scheduler, policies, node pools, reports (see leader.ts).

export { Leader, type LeaderOptions, type LeaderPhase } from './leader';
export { LocalPool, type GpuHandOver, type LocalPoolOptions } from './localPool';
export type { AttemptOrder, NodePool, PoolEvent, WorkSource } from './nodePool';
export { realClock, type Clock } from './clock';
export { workerConfig } from './workerConfig';
