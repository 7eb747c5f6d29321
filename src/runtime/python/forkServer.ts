// One interpreter per run (and interpreter) that imports the job's heavy modules once and forks
// each worker's driver from itself: see resources/python/prs_fork_server.py for why and what it
// shares. This side starts it, asks it for workers, and hears when they end. When it cannot help
// (it failed to start, or died), fork() answers null and the caller starts a fresh interpreter:
// the server makes workers start sooner, never makes them fail.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { lineSplitter } from '../../common/lineSplitter';
import { pythonResourcesDir } from '../paths';

type ServerReply =
  | { t: 'imported'; name: string; error: string | null }
  | { t: 'ready'; version: number[]; preloaded: string[]; ms: number }
  | { t: 'forked'; id: number; pid: number }
  | { t: 'fork-failed'; id: number; error: string }
  | { t: 'exit'; pid: number; code: number; signal: number };

export interface ForkRequest {
  /** The pseudo-terminal's slave side, which the child makes its controlling terminal and stdio. */
  pts: string;
  /** The worker's whole environment. */
  env: Record<string, string>;
  cwd: string;
}

export interface ChildExit {
  exitCode: number;
  /** The signal number, 0 when it exited. */
  signal: number;
}

export interface ForkServerOptions {
  python: string;
  /** The server's own environment (the first worker's): what the preloaded modules see at import. */
  env: Record<string, string>;
  cwd: string;
  /** Modules to import before forking (only those the server deems safe are: PRELOADABLE). */
  preload: string[];
  /** Its module-level imports are read (never run) and preloaded too. */
  entryScript: string;
}

/** The end of the server's stderr kept for run.json: a traceback's last lines. */
const STDERR_KEPT = 2000;

export class ForkServer {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (pid: number | null) => void>();
  private readonly exits = new Map<number, (exit: ChildExit) => void>();
  /** Exits that arrived before anyone asked (a child that ended at once). */
  private readonly early = new Map<number, ChildExit>();
  private nextId = 1;
  private gone = false;
  /** What the server imported before its first fork, and how long that took; null until it is ready. */
  preloaded: { modules: string[]; ms: number } | null = null;
  /** Each module it has tried so far: null when imported, else why not ("ModuleNotFoundError: ..."). */
  private readonly tried = new Map<string, string | null>();
  /** Ready or gone: what was not tried by then never will be. */
  private importsEnded = false;
  private importWaiters: Array<{ modules: string[]; answer: (f: Record<string, string> | null) => void }> =
    [];
  readonly ready: Promise<boolean>;
  /** The end of what the server wrote to its stderr (a traceback, if it failed): why it did not help. */
  private stderrTail = '';

  constructor(o: ForkServerOptions) {
    this.child = spawn(o.python, ['-u', path.join(pythonResourcesDir(), 'prs_fork_server.py')], {
      cwd: o.cwd,
      env: {
        ...o.env,
        PRS_FORK_PRELOAD: o.preload.join(','),
        PRS_FORK_SCRIPT: o.entryScript,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Never what keeps the leader's process alive: it ends with it (end of its stdin).
    this.child.unref();
    let settle: (ok: boolean) => void = () => undefined;
    this.ready = new Promise((resolve) => (settle = resolve));
    // Ready or gone: what was never tried has no answer from here.
    void this.ready.then(() => {
      this.importsEnded = true;
      this.answerImports();
    });
    const stdin = this.child.stdin!;
    const stdout = this.child.stdout!;
    (stdin as unknown as { unref?: () => void }).unref?.();
    (stdout as unknown as { unref?: () => void }).unref?.();
    stdin.on('error', () => undefined);
    this.child.on('error', () => this.lost(settle));
    this.child.on('close', () => this.lost(settle));
    const split = lineSplitter((line) => {
      let reply: ServerReply;
      try {
        reply = JSON.parse(line) as ServerReply;
      } catch {
        return void this.stop();
      }
      this.onReply(reply, settle);
    });
    stdout.setEncoding('utf8');
    stdout.on('data', split);
    const stderr = this.child.stderr!;
    (stderr as unknown as { unref?: () => void }).unref?.();
    stderr.setEncoding('utf8');
    stderr.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_KEPT);
    });
  }

  /** Why the server never became ready (what it said on stderr, or how it ended); null if it did. */
  get failure(): string | null {
    if (this.preloaded) return null;
    const said = this.stderrTail.trim();
    if (said) return said;
    return this.gone ? 'it ended before it was ready, saying nothing' : null;
  }

  /**
   * Why each of `modules` cannot be imported ({} when all were), as the interpreter check's own
   * import would say: the server imported them anyway. Null when it did not try one of them (a
   * module the script's folder shadows, one it does not preload) or never became ready.
   */
  importFailures(modules: string[]): Promise<Record<string, string> | null> {
    return new Promise((answer) => {
      this.importWaiters.push({ modules, answer });
      this.answerImports();
    });
  }

  /** Answers each waiter whose modules have all been tried; once it is ready or gone, every one. */
  private answerImports(): void {
    this.importWaiters = this.importWaiters.filter(({ modules, answer }) => {
      if (modules.every((m) => this.tried.has(m))) {
        const failures: Record<string, string> = {};
        for (const m of modules) if (this.tried.get(m)) failures[m] = this.tried.get(m)!;
        answer(failures);
      } else if (this.importsEnded) answer(null);
      else return true;
      return false;
    });
  }

  /** A worker forked in that terminal: its pid, or null when the server cannot make one. */
  async fork(request: ForkRequest): Promise<number | null> {
    if (!(await this.ready) || this.gone) return null;
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(JSON.stringify({ t: 'fork', id, ...request }) + '\n');
    });
  }

  /** Called once, when the child ends (or, if the server dies first, as killed by SIGKILL). */
  onChildExit(pid: number, listener: (exit: ChildExit) => void): void {
    const early = this.early.get(pid);
    if (early) {
      this.early.delete(pid);
      listener(early);
    } else this.exits.set(pid, listener);
  }

  /**
   * The run is over and every worker has ended: the server goes, even one still stuck importing
   * (a preload that hangs must not outlive the run).
   */
  stop(): Promise<void> {
    const exited = this.child.exitCode !== null || this.child.signalCode !== null;
    if (this.gone || exited) return Promise.resolve();
    // 'exit' comes once Node has reaped it: its own CPU time and that of the workers it reaped join
    // the leader's.
    const ended = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    // Unreferenced so far (it never kept the leader alive): now its end is awaited.
    this.child.ref();
    this.child.stdin!.end();
    this.child.kill('SIGKILL');
    return ended;
  }

  private onReply(reply: ServerReply, settle: (ok: boolean) => void): void {
    switch (reply.t) {
      case 'imported':
        this.tried.set(reply.name, reply.error);
        this.answerImports();
        break;
      case 'ready':
        this.preloaded = { modules: reply.preloaded, ms: Math.round(reply.ms) };
        settle(true);
        break;
      case 'forked':
      case 'fork-failed': {
        const resolve = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        resolve?.(reply.t === 'forked' ? reply.pid : null);
        break;
      }
      case 'exit': {
        const exit = { exitCode: reply.code, signal: reply.signal };
        const listener = this.exits.get(reply.pid);
        this.exits.delete(reply.pid);
        if (listener) listener(exit);
        else this.early.set(reply.pid, exit);
        break;
      }
    }
  }

  /**
   * The server ended (stopped, or died): nobody is left to report its children's ends, which stop
   * themselves once their parent is gone. Each is killed now and reported killed, so its worker
   * is replaced (by a fresh interpreter) and its mini-batch retried instead of waited for.
   */
  private lost(settle: (ok: boolean) => void): void {
    if (this.gone) return;
    this.gone = true;
    settle(false);
    for (const resolve of this.waiting.values()) resolve(null);
    this.waiting.clear();
    for (const [pid, listener] of this.exits) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      listener({ exitCode: 0, signal: 9 });
    }
    this.exits.clear();
  }
}
