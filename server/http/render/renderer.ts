import { createHash } from 'node:crypto';
import { coarseDiff, diffProse, type Change } from '../../domain/diff.js';
import { Lru } from '../../util/lru.js';
import { WorkPool, WorkTimeout } from '../offload/pool.js';
import { plainFallback, renderItems, type MarkdownItem } from './markdown.js';

/**
 * Markdown rendering and prose diffs with bounded work per request:
 * - results are cached by the content they come from (a SHA-256 of the text, like a git blob
 *   id, so a published text, a proposal head, a rationale or a comment is rendered once
 *   however often it is viewed; an edited comment is new content, hence a new entry), in one
 *   LRU bounded in bytes;
 * - small work runs inline (a worker hop costs about a millisecond); larger work goes to the
 *   worker pool, in batches of at most `batchBytes`, each within a time limit;
 * - the same text asked for by several requests at once is rendered once;
 * - what runs out of time is shown coarser (markdown as escaped plain text, a diff as one
 *   delete and one insert), and that answer is kept for `retryFailedMs` so a text that cannot
 *   be rendered in time costs the pool its time limit once, not on every view.
 */
export interface RenderOptions {
  cacheBytes: number;
  /** Uncached input up to this many bytes per call is rendered on the event loop. */
  inlineBytes: number;
  /** Two texts up to this many bytes together are diffed on the event loop. */
  inlineDiffBytes: number;
  batchBytes: number;
  renderMs: number;
  diffMs: number;
  retryFailedMs: number;
}

export const DEFAULT_RENDER: RenderOptions = {
  cacheBytes: 64 * 1024 * 1024,
  inlineBytes: 8 * 1024,
  inlineDiffBytes: 32 * 1024,
  batchBytes: 256 * 1024,
  renderMs: 5000,
  diffMs: 10_000,
  retryFailedMs: 10 * 60_000,
};

/** A result, and whether it is the coarse form given when the real one took too long. */
type Cached = ({ kind: 'html'; html: string } | { kind: 'diff'; changes: Change[] }) & { fallback?: boolean };

const hash = (s: string) => createHash('sha256').update(s).digest('base64url');
const weigh = (v: Cached) => 64 + 2 * (v.kind === 'html' ? v.html.length : v.changes.reduce((n, c) => n + c.text.length + 16, 0));

export class Renderer {
  private readonly opts: RenderOptions;
  private readonly cache: Lru<Cached>;
  /** Keys whose cached value is a fallback, with when to try again. */
  private readonly failed = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<Cached>>();
  /** Texts actually rendered and pairs actually diffed (cache misses), for tests and the record. */
  readonly stats = { rendered: 0, diffed: 0, hits: 0, fallbacks: 0 };

  constructor(
    readonly pool: WorkPool,
    opts: Partial<RenderOptions> = {},
    private readonly log: (msg: string, err?: unknown) => void = () => {},
  ) {
    this.opts = { ...DEFAULT_RENDER, ...opts };
    this.cache = new Lru<Cached>(this.opts.cacheBytes, weigh);
  }

  /** One markdown text as safe HTML, its headings moved `by` levels down. */
  async markdown(text: string, by: number): Promise<string> {
    return (await this.markdownAll([{ text, by }]))[0];
  }

  /** Many markdown texts (a text's paragraphs, a page's comments) as safe HTML, in order. */
  async markdownAll(items: MarkdownItem[]): Promise<string[]> {
    const keys = items.map((i) => `md:${i.by}:${hash(i.text)}`);
    const found = keys.map((k) => this.lookup(k) ?? this.inFlight.get(k));
    const missing = new Map<string, MarkdownItem>();
    items.forEach((item, i) => {
      if (!found[i] && !missing.has(keys[i])) missing.set(keys[i], item);
    });
    if (missing.size) {
      const size = [...missing.values()].reduce((n, i) => n + i.text.length, 0);
      const inline = size <= this.opts.inlineBytes;
      for (const batch of inline ? [[...missing]] : this.batches([...missing])) {
        const texts = batch.map(([, item]) => item);
        const work = inline ? Promise.resolve().then(() => renderItems(texts)) : this.pool.run<string[]>({ kind: 'render', items: texts }, this.opts.renderMs);
        const done = work.then(
          (html) => html.map((h): Cached => ({ kind: 'html', html: h })),
          (e) => this.failure(e, 'render', () => texts.map((i): Cached => ({ kind: 'html', html: plainFallback(i.text), fallback: true }))),
        );
        batch.forEach(([key], k) => this.track(key, done.then((all) => all[k])));
      }
    }
    const values = await Promise.all(keys.map((k, i) => found[i] ?? this.inFlight.get(k)!));
    return values.map((v) => (v.kind === 'html' ? v.html : ''));
  }

  /** The prose diff from `from` to `to` (coarse if it cannot be made in time). */
  async diff(from: string, to: string): Promise<Change[]> {
    const key = `diff:${hash(from)}:${hash(to)}`;
    const hit = this.lookup(key) ?? this.inFlight.get(key);
    if (hit) return ((await hit) as Extract<Cached, { kind: 'diff' }>).changes;
    const inline = from.length + to.length <= this.opts.inlineDiffBytes;
    const work = inline ? Promise.resolve().then(() => diffProse(from, to)) : this.pool.run<Change[]>({ kind: 'diff', from, to }, this.opts.diffMs);
    const done = work.then(
      (changes) => ({ kind: 'diff', changes }) as Cached,
      (e) => this.failure(e, 'diff', (): Cached => ({ kind: 'diff', changes: coarseDiff(from, to), fallback: true })),
    );
    this.track(key, done);
    return ((await done) as Extract<Cached, { kind: 'diff' }>).changes;
  }

  private lookup(key: string): Cached | undefined {
    const v = this.cache.get(key);
    if (v === undefined) return undefined;
    const retryAt = this.failed.get(key);
    if (retryAt !== undefined && retryAt <= Date.now()) {
      this.failed.delete(key);
      this.cache.delete(key);
      return undefined;
    }
    this.stats.hits++;
    return v;
  }

  /** Keep `key`'s result when `value` settles; a refusal (busy) is passed on to whoever waits, not kept. */
  private track(key: string, value: Promise<Cached>) {
    const entry = value.then((v) => {
      this.cache.set(key, v);
      if (v.fallback) this.markFailed(key);
      if (v.kind === 'html') this.stats.rendered++;
      else this.stats.diffed++;
      return v;
    });
    this.inFlight.set(key, entry);
    const forget = () => {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    };
    entry.then(forget, forget);
  }

  private markFailed(key: string) {
    this.failed.set(key, Date.now() + this.opts.retryFailedMs);
    // Bounded like the cache: the oldest marks go first (their entries are then simply kept).
    if (this.failed.size > 10_000) this.failed.delete(this.failed.keys().next().value!);
  }

  /** A task that ran out of time (or whose thread died) gives the coarse answer, kept for a while; a full queue is passed on (503). */
  private failure<T>(e: unknown, what: string, coarse: () => T): T {
    if (!(e instanceof WorkTimeout)) {
      if ((e as { kind?: string })?.kind === 'unavailable') throw e;
      this.log(`A ${what} task failed; showing the coarse form`, e);
    }
    this.stats.fallbacks++;
    return coarse();
  }

  /** Batches of at most `batchBytes` of text (one item larger than that is a batch alone). */
  private batches<T extends [string, MarkdownItem]>(entries: T[]): T[][] {
    const out: T[][] = [];
    let cur: T[] = [];
    let size = 0;
    for (const e of entries) {
      if (cur.length && size + e[1].text.length > this.opts.batchBytes) {
        out.push(cur);
        cur = [];
        size = 0;
      }
      cur.push(e);
      size += e[1].text.length;
    }
    if (cur.length) out.push(cur);
    return out;
  }
}
