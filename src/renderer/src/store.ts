// One bound zustand store made of typed slices (app shell, the open run). Components select with
// useShallow; fast-changing data (metrics, the attempts table) is mutated in place with a version
// counter, and graphs read it through subscribe into refs rather than re-rendering.

import { create, type StateCreator } from 'zustand';
import type { AttemptRow, ExampleInfo, MetricsHistory, RunListItem } from '../../common/api';
import type { ApiMethod, ApiParams, ApiResult, AppEvent, PrsBridge } from '../../common/contract';
import { LEADER_TERMINAL } from '../../common/api';
import {
  foldFromSnapshot,
  reduceRun,
  type FoldedEvent,
  type RunFold,
  type RunInfo,
} from '../../common/runReducer';
import type { ApiClient } from './client';
import { disposeRunTerminals, noteDropped, writeTerminal } from './terminals';

export type Page =
  | { kind: 'home' }
  | { kind: 'run'; runId?: string; runDir?: string }
  | { kind: 'wizard'; specPath?: string }
  | { kind: 'output'; runDir: string }
  /** The logs browser: a file of the run's logs/ (`at`: a byte offset), or a mini-batch's row. */
  | { kind: 'logs'; runDir: string; runId?: string; file?: string; at?: string; batch?: string }
  | { kind: 'pipeline'; runDir: string }
  | { kind: 'history' };

/** The URL hash of a page, so a reload (or the back button) keeps the view. */
export function hashOf(page: Page): string {
  if (page.kind === 'home') return '#/';
  const { kind, ...params } = page;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (typeof v === 'string') q.set(k, v);
  const qs = q.toString();
  return `#/${kind}${qs ? `?${qs}` : ''}`;
}

export function pageFromHash(hash: string): Page {
  const h = hash.replace(/^#/, '');
  const q = new URLSearchParams(h.split('?')[1] ?? '');
  const get = (k: string) => q.get(k) ?? undefined;
  if (h.startsWith('/run')) return { kind: 'run', runId: get('runId'), runDir: get('runDir') };
  if (h.startsWith('/wizard')) return { kind: 'wizard', specPath: get('specPath') };
  if (h.startsWith('/output') && q.get('runDir')) return { kind: 'output', runDir: q.get('runDir') ?? '' };
  if (h.startsWith('/history')) return { kind: 'history' };
  if (h.startsWith('/logs') && q.get('runDir'))
    return {
      kind: 'logs',
      runDir: q.get('runDir') ?? '',
      runId: get('runId'),
      file: get('file'),
      at: get('at'),
      batch: get('batch'),
    };
  if (h.startsWith('/pipeline') && q.get('runDir'))
    return { kind: 'pipeline', runDir: q.get('runDir') ?? '' };
  return { kind: 'home' };
}

export interface AppSlice {
  client: ApiClient | null;
  appState: 'loading' | 'ready' | 'error';
  error: string | null;
  examples: ExampleInfo[];
  runs: RunListItem[];
  page: Page;
  /** The folder of the spec open in the wizard (null before it has a path): browsing starts there. */
  specDir: string | null;
  setClient(client: ApiClient): void;
  refresh(): Promise<void>;
  navigate(page: Page): void;
  /** `input`: a batch deployment's data to score. */
  /** `cluster`: the job's nodes are that cluster's agents (prs run --cluster). */
  startExample(specPath: string, input?: string, cluster?: string): Promise<void>;
  setError(error: string | null): void;
}

export type { RunInfo };

/** The open run is folded by the reducer the host uses too (common/runReducer.ts). */
export interface RunSlice {
  run: RunInfo | null;
  /** Mutated in place; `attemptsVersion` says when. 100,000 rows must not be copied per event. */
  attempts: AttemptRow[];
  attemptIndex: RunFold['attemptIndex'];
  attemptsVersion: number;
  metrics: MetricsHistory;
  metricsVersion: number;
  terminalNames: string[];
  droppedBytes: Record<string, number>;
  /** `quiet`: a folder that cannot be opened as a run is no error to show (the output browser's case). */
  openRun(ref: { runId?: string; runDir?: string }, opts?: { quiet?: boolean }): Promise<void>;
  closeRun(): void;
  handleEvent(event: AppEvent): void;
}

/** What a user can do next with a finished run (the run view's and history's buttons). */
export type RunAction = 'run-again' | 'reuse' | 'resume' | 'retry-failed';

export interface ActionSlice {
  /** Starts the action and shows the run it started; rejects with the host's message. */
  runAction(action: RunAction, runDir: string): Promise<void>;
}

/**
 * The host, as components and hooks reach it: through the store, never by holding the client, so
 * the one place that knows whether there is a connection is here.
 */
export interface HostSlice {
  /** One request to the host; rejects with "not connected" before the app has a client. */
  request<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>>;
  /** The native file dialogs where the host has them (Electron); null in a browser. */
  dialogs(): PrsBridge['dialogs'] | null;
  /** The browser host streams an export as a download; null where it is saved through a dialog. */
  download(): ApiClient['download'];
  /** Events the host pushes (search progress, shell output); returns the unsubscribe. */
  onEvent(listener: (event: AppEvent) => void): () => void;
}

export type Store = AppSlice & RunSlice & ActionSlice & HostSlice;

/**
 * Events that arrive while a run is being opened: the host subscribes this client before its
 * snapshot reaches us, so a few events can overtake the reply. They are replayed after it.
 */
let heldEvents: AppEvent[] | null = null;

const createAppSlice: StateCreator<Store, [], [], AppSlice> = (set, get) => ({
  client: null,
  appState: 'loading',
  error: null,
  examples: [],
  runs: [],
  specDir: null,
  page: { kind: 'home' },
  setClient: (client) => set({ client }),
  setError: (error) => set({ error }),
  async refresh() {
    const client = get().client;
    if (!client) return;
    const [examples, runs] = await Promise.all([
      client.call('listExamples', {}),
      client.call('listRuns', {}),
    ]);
    set({ examples, runs });
  },
  navigate(page) {
    const hash = hashOf(page);
    if (location.hash !== hash) history.pushState(null, '', hash);
    set({ page });
  },
  async startExample(specPath, input, cluster) {
    const client = get().client;
    if (!client) return;
    try {
      set({ error: null });
      const { runId, runDir, pipeline } = await client.call('startRun', {
        specPath,
        ...(input !== undefined ? { input } : {}),
        ...(cluster !== undefined ? { cluster } : {}),
      });
      get().navigate(pipeline ? { kind: 'pipeline', runDir } : { kind: 'run', runId, runDir });
    } catch (err) {
      set({ error: err instanceof Error ? err.message : String(err) });
    }
  },
});

function terminalsOf(names: string[], extra: Iterable<string>): string[] {
  const all = new Set(names);
  for (const n of extra) all.add(n);
  return [...all].sort((a, b) =>
    a === LEADER_TERMINAL ? -1 : b === LEADER_TERMINAL ? 1 : a.localeCompare(b),
  );
}

const createRunSlice: StateCreator<Store, [], [], RunSlice> = (set, get) => ({
  run: null,
  attempts: [],
  attemptIndex: new Map(),
  attemptsVersion: 0,
  metrics: { node: [], processes: [] },
  metricsVersion: 0,
  terminalNames: [],
  droppedBytes: {},
  async openRun(ref, opts) {
    const client = get().client;
    if (!client) return;
    get().closeRun();
    heldEvents = [];
    try {
      const { terminals, ...snap } = await client.call('openRun', ref);
      const fold = foldFromSnapshot(snap);
      for (const [name, text] of Object.entries(terminals)) writeTerminal(snap.runId, name, text, false);
      set({
        ...fold,
        attemptsVersion: get().attemptsVersion + 1,
        metricsVersion: get().metricsVersion + 1,
        terminalNames: terminalsOf(Object.keys(terminals), [
          LEADER_TERMINAL,
          ...fold.run.workers.map((w) => w.name),
        ]),
        droppedBytes: {},
        error: null,
      });
    } catch (err) {
      if (!opts?.quiet) set({ error: err instanceof Error ? err.message : String(err) });
    } finally {
      const held = heldEvents ?? [];
      heldEvents = null;
      for (const e of held) get().handleEvent(e);
    }
  },
  closeRun() {
    const run = get().run;
    if (!run) return;
    if (run.live)
      void get()
        .client?.call('closeRun', { runId: run.runId })
        .catch(() => undefined);
    disposeRunTerminals(run.runId);
    set({ run: null, attempts: [], attemptIndex: new Map(), terminalNames: [], droppedBytes: {} });
  },
  handleEvent(event) {
    const run = get().run;
    if (event.type === 'runs-changed') {
      void get()
        .refresh()
        .catch(() => undefined);
      return;
    }
    if (heldEvents) {
      heldEvents.push(event);
      return;
    }
    if (!run || !('runId' in event) || event.runId !== run.runId) {
      // Output of a run not on screen: acknowledge it so the host's flow control stays balanced.
      if (event.type === 'term-output')
        get().client?.ack({ runId: event.runId, term: event.term, chars: event.data.length });
      return;
    }
    if (event.type === 'term-output') {
      writeTerminal(event.runId, event.term, event.data);
      if (!get().terminalNames.includes(event.term)) {
        set({ terminalNames: terminalsOf(get().terminalNames, [event.term]) });
      }
    } else if (event.type === 'term-dropped') {
      noteDropped(event.runId, event.term, event.droppedBytes);
      const dropped = get().droppedBytes;
      set({ droppedBytes: { ...dropped, [event.term]: (dropped[event.term] ?? 0) + event.droppedBytes } });
    } else if (event.type === 'run-events') {
      applyRunEvents(get, set, event.events);
    }
  },
});

type Get = () => Store;
type Set = (partial: Partial<Store>) => void;

function applyRunEvents(get: Get, set: Set, events: FoldedEvent[]): void {
  const s = get();
  if (!s.run) return;
  let fold: RunFold = {
    run: s.run,
    attempts: s.attempts,
    attemptIndex: s.attemptIndex,
    attemptsVersion: s.attemptsVersion,
    metrics: s.metrics,
    metricsVersion: s.metricsVersion,
  };
  const now = Date.now();
  for (const e of events) fold = reduceRun(fold, e, now);
  const names = fold.run.workers.filter((w) => !s.terminalNames.includes(w.name)).map((w) => w.name);
  set({ ...fold, ...(names.length > 0 ? { terminalNames: terminalsOf(s.terminalNames, names) } : {}) });
}

const createActionSlice: StateCreator<Store, [], [], ActionSlice> = (_set, get) => ({
  async runAction(action, runDir) {
    const client = get().client;
    if (!client) return;
    const {
      runId,
      runDir: dir,
      pipeline,
    } = action === 'run-again' || action === 'reuse'
      ? await client.call('rerun', { runDir, reuse: action === 'reuse' })
      : await client.call('resumeRun', { runDir, retryFailed: action === 'retry-failed' });
    // A pipeline run has a view of its own (its graph); each parallel node opens as a run from there.
    if (pipeline) return get().navigate({ kind: 'pipeline', runDir: dir });
    // A resume keeps the run's id and folder: the page stays, so open the run afresh.
    if (get().page.kind === 'run' && get().run?.runId === runId) await get().openRun({ runId, runDir: dir });
    get().navigate({ kind: 'run', runId, runDir: dir });
  },
});

const createHostSlice: StateCreator<Store, [], [], HostSlice> = (_set, get) => ({
  request(method, params) {
    const client = get().client;
    if (!client) return Promise.reject(new Error('not connected'));
    return client.call(method, params);
  },
  dialogs: () => get().client?.dialogs ?? null,
  download: () => get().client?.download ?? null,
  onEvent: (listener) => get().client?.onEvent(listener) ?? (() => undefined),
});

export const useStore = create<Store>()((...a) => ({
  ...createAppSlice(...a),
  ...createRunSlice(...a),
  ...createActionSlice(...a),
  ...createHostSlice(...a),
}));
