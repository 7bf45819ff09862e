import type { Piscina } from 'piscina';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unavailable } from '../../domain/errors.js';
import type { Task } from './worker.js';

/**
 * A small pool of worker threads for work that may take long (rendering a large text, diffing
 * two), so the event loop keeps answering everyone else. Bounded three ways:
 * - `threads` tasks run at once (the machine's cores are shared with the event loop);
 * - at most `maxQueue` wait; beyond, `run` refuses at once with 503 `busy` and Retry-After,
 *   rather than queueing without bound;
 * - each task may run for `limitMs` (counted from when it starts running, not while it waits):
 *   past that, its thread is terminated and `run` rejects with `WorkTimeout`.
 * Threads start on first use and stop after a minute idle; idle threads never keep the
 * process alive. `close` stops them (the app's owner calls it on shutdown).
 */
export interface PoolOptions {
  threads: number;
  maxQueue: number;
  /** Seconds a refused caller is told to wait (Retry-After). */
  retryAfter: number;
}

/** How long a thread may take to start before its task is given up as if it had run out of time. */
const STARTUP_GRACE_MS = 30_000;

/**
 * One thread per core beyond the first, at most two: the event loop keeps a core to itself
 * (on a 2-core machine the pool has one thread).
 */
export const DEFAULT_POOL: Readonly<PoolOptions> = Object.freeze({
  threads: Math.max(1, Math.min(2, os.availableParallelism() - 1)),
  maxQueue: 64,
  retryAfter: 5,
});

/** The task ran out of time; its thread was terminated. */
export class WorkTimeout extends Error {
  constructor(readonly limitMs: number) {
    super(`The work took longer than ${limitMs} ms and was stopped.`);
    this.name = 'WorkTimeout';
  }
}

const here = fileURLToPath(import.meta.url);
// The worker file sits beside this one: worker.js when compiled; from the sources (tsx, jest)
// sourceWorker.mjs, which registers tsx's loader in the thread and loads worker.ts (node 20
// does not pass a loader given in a worker's execArgv on to it: every task failed).
// RATIFY_WORKER_FILE names another: the tests point it at the one the build wrote from the same
// sources (a thread starts in ~0.3 s of CPU instead of ~1 s through tsx).
const workerFile =
  process.env.RATIFY_WORKER_FILE ||
  path.join(path.dirname(here), path.extname(here) === '.ts' ? 'sourceWorker.mjs' : 'worker.js');

export class WorkPool {
  /**
   * The threads, made at the first task: piscina itself is loaded then too (~20 ms of every start
   * went to loading it, for a pool most starts never use before their first page that needs it).
   */
  private piscina: Promise<Piscina> | null = null;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;
  /** Tasks started and tasks stopped for running too long (for tests and the record). */
  readonly stats = { started: 0, timedOut: 0, refused: 0 };

  constructor(
    readonly options: PoolOptions = DEFAULT_POOL,
    private readonly onError: (e: unknown) => void = (e) => console.error('A worker thread failed', e),
  ) {}

  private pool(): Promise<Piscina> {
    if (this.piscina) return this.piscina;
    const making = import('piscina').then(({ Piscina }) => {
      const pool = new Piscina({
        filename: workerFile,
        // None of the parent's (node's flags of `npm start`, tsx's loader): the thread needs neither.
        execArgv: [],
        minThreads: 0,
        maxThreads: this.options.threads,
        idleTimeout: 60_000,
        // A worker's heap is capped too: a pathological text may not take the machine's memory.
        resourceLimits: { maxOldGenerationSizeMb: 512 },
      });
      // A thread that cannot start (or dies outside a task) fails its task, never the process.
      // Listened to once, when the pool is made (not on every task: that was a listener a task).
      pool.on('error', (e: unknown) => this.onError(e));
      return pool;
    });
    // A failure to load is not kept: the next task tries again.
    making.catch(() => {
      if (this.piscina === making) this.piscina = null;
    });
    this.piscina = making;
    return making;
  }

  /** Run `task` on a worker thread within `limitMs` of starting; 503 `busy` when the queue is full. */
  async run<R>(task: Task, limitMs: number): Promise<R> {
    if (this.closed)
      throw unavailable(
        'shutting_down',
        'The server is shutting down; please try again shortly.',
        this.options.retryAfter,
      );
    if (this.running >= this.options.threads) {
      if (this.waiting.length >= this.options.maxQueue) {
        this.stats.refused++;
        throw unavailable(
          'busy',
          'The server is busy formatting other texts; please try again in a few seconds.',
          this.options.retryAfter,
        );
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.closed)
        throw unavailable(
          'shutting_down',
          'The server is shutting down; please try again shortly.',
          this.options.retryAfter,
        );
    }
    this.running++;
    this.stats.started++;
    const abort = new AbortController();
    // The limit counts from when a thread starts the task (it writes the time here), not from
    // now: a thread that is still starting (a new one after a stopped task) must not eat it.
    const started = new BigInt64Array(new SharedArrayBuffer(8));
    const submitted = Date.now();
    let timer: NodeJS.Timeout;
    const check = () => {
      const at = Number(Atomics.load(started, 0));
      const now = Date.now();
      if ((at && now - at >= limitMs) || (!at && now - submitted >= limitMs + STARTUP_GRACE_MS)) return abort.abort();
      timer = setTimeout(check, at ? at + limitMs - now : 50);
    };
    timer = setTimeout(check, limitMs);
    try {
      const pool = await this.pool();
      return (await pool.run({ ...task, started }, { signal: abort.signal })) as R;
    } catch (e) {
      if (abort.signal.aborted) {
        this.stats.timedOut++;
        throw new WorkTimeout(limitMs);
      }
      throw e;
    } finally {
      clearTimeout(timer);
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Stop the threads (tasks still running are stopped); later `run`s are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.waiting.splice(0)) wake();
    const p = this.piscina;
    this.piscina = null;
    if (p)
      await p.then(
        (pool) => pool.destroy(),
        () => undefined,
      );
  }
}
