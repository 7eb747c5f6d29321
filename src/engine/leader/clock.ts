// The leader's sense of time, passed in so its rules can be tested in-process with a fake clock
// (test/leader/fakes.ts) instead of real seconds.

export interface Clock {
  now(): number;
  /** Calls fn every ms until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
  /** Calls fn once after ms, unless the returned function is called first. */
  after(ms: number, fn: () => void): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
  after(ms, fn) {
    // A pending deadline (a stop's grace period) must not keep the host alive.
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
