import { createHash } from 'node:crypto';
import { coarseDiff, diffProse, type Change } from '../../domain/diff.js';
import { Lru } from '../../util/lru.js';
import { type WorkPool, WorkTimeout } from '../offload/pool.js';
import type { Spliced, Task } from '../offload/worker.js';
import { renderItems, type MarkdownItem } from '../../util/markdown.js';
import { renderDocument } from '../../util/documentHtml.js';
import { findSectionIn, headingIds, linkedSectionsOf, spliceText } from '../../services/textSections.js';
import type { Section } from '../../domain/sections.js';
import { renderParagraphs, type RenderedBlock } from './paragraphs.js';
import { renderedDiff, type RenderedDiffBlock } from './renderedDiff.js';
import { DomainError, invalid, unavailable } from '../../domain/errors.js';
import { NotADocx, type WordInResult } from '../../util/wordIn.js';
import type { Revisions, WordMeta } from './wordOut.js';

/** The Word writer and the docx package it uses (~1 MB of code) load with the first Word file made, not at start. */
const wordOut = () => import('./wordOut.js');

/**
 * Markdown rendering, prose diffs and rendered diffs with bounded work per request:
 * - results are cached by the content they come from (a SHA-256 of the text, as a git blob id
 *   is a hash of it: a published text, a proposal head, a rationale or a comment is rendered
 *   once however often it is viewed; an edited comment is new content, hence a new entry), in
 *   one LRU bounded in bytes;
 * - small work runs inline (a worker hop costs about a millisecond); larger work goes to the
 *   worker pool (comments in batches of at most `batchBytes`), each task within a time limit;
 * - the same work asked for by several requests at once is done once;
 * - what runs out of time is shown coarser (markdown as escaped plain text, a diff as one
 *   delete and one insert), and that answer is kept for `retryFailedMs`, so a text that cannot
 *   be rendered in time costs the pool its time limit once, not on every view;
 * - a full pool queue is passed on as 503 `busy` with Retry-After (nothing is kept).
 */
export interface RenderOptions {
  cacheBytes: number;
  /** Uncached markdown up to this many bytes per call is rendered on the event loop. */
  inlineBytes: number;
  /** Two texts up to this many bytes together are diffed on the event loop. */
  inlineDiffBytes: number;
  batchBytes: number;
  renderMs: number;
  diffMs: number;
  retryFailedMs: number;
  /** A Word file of a text this long is written on the event loop (uploads are always read on the pool). */
  inlineWordBytes: number;
  /** The time a Word file may take to read or to write on the pool. */
  wordMs: number;
}

export const DEFAULT_RENDER: Readonly<RenderOptions> = Object.freeze({
  cacheBytes: 64 * 1024 * 1024,
  inlineBytes: 8 * 1024,
  inlineDiffBytes: 32 * 1024,
  batchBytes: 256 * 1024,
  renderMs: 5000,
  diffMs: 10_000,
  retryFailedMs: 10 * 60_000,
  inlineWordBytes: 16 * 1024,
  wordMs: 30_000,
});

/** The longest pause between two waiters resumed in turn (see `turn`). */
const MAX_PAUSE_MS = 250;
/**
 * Results lighter than this go straight on: the page built from them is ordinary work (a few
 * ms), and queueing it would halve the throughput of every page (measured: 545 → 1,232
 * req/s for a document page at 20 connections without the queue). Only heavy results (the
 * megabytes that made the event loop stall) wait their turn.
 */
const HEAVY_BYTES = 256 * 1024;

/** A result, and whether it is the coarse form given when the real one took too long. */
type Cached = { value: unknown; weight: number; fallback: boolean };

const hash = (s: string) => createHash('sha256').update(s).digest('base64url');
const textWeight = (s: string) => 2 * s.length;
const changesWeight = (cs: Change[]) => cs.reduce((n, c) => n + 2 * c.text.length + 32, 0);

export class Renderer {
  private readonly opts: RenderOptions;
  private readonly cache: Lru<Cached>;
  /** Keys whose cached value is a fallback, with when to try again. */
  private readonly failed = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<Cached>>();
  private readonly turns: (() => void)[] = [];
  private draining = false;
  /** Work actually done (cache misses) and answers served from the cache, for tests and the record. */
  readonly stats = { rendered: 0, diffed: 0, hits: 0, fallbacks: 0 };
  private coarse = 0;
  /** The earliest time a kept coarse answer is to be tried again. */
  private nextRetry = Infinity;

  constructor(
    readonly pool: WorkPool,
    opts: Partial<RenderOptions> = {},
    private readonly log: (msg: string, err?: unknown) => void = () => {},
  ) {
    this.opts = { ...DEFAULT_RENDER, ...opts };
    this.cache = new Lru<Cached>(this.opts.cacheBytes, (c) => 64 + c.weight);
  }

  /**
   * Changes whenever a coarse answer is made, and when a kept one's time to be tried again comes.
   * What is made from the renderer's answers and kept (render/fragments.ts) is keyed by it too,
   * and a page that saw it change while it was made keeps nothing: a coarse answer is kept
   * elsewhere no longer than here (`retryFailedMs`), whether or not anyone asks the renderer.
   */
  get coarseEpoch(): number {
    if (this.nextRetry <= Date.now()) {
      this.coarse++;
      const now = Date.now();
      let next = Infinity;
      for (const at of this.failed.values()) if (at > now && at < next) next = at;
      this.nextRetry = next;
    }
    return this.coarse;
  }

  /** One markdown text as safe HTML, its headings moved `by` levels down. */
  async markdown(text: string, by: number): Promise<string> {
    return (await this.markdownAll([{ text, by }]))[0];
  }

  /** Many markdown texts (a page's comments, a preview's text and rationale) as safe HTML, in order. */
  async markdownAll(items: MarkdownItem[]): Promise<string[]> {
    const keys = items.map((i) => `md:${i.by}:${hash(i.text)}`);
    const found = keys.map((k) => this.lookup(k) ?? this.inFlight.get(k));
    const missing = new Map<string, MarkdownItem>();
    items.forEach((item, i) => {
      if (!found[i] && !missing.has(keys[i])) missing.set(keys[i], item);
    });
    if (missing.size) {
      const entries = [...missing];
      const inline = entries.reduce((n, [, i]) => n + i.text.length, 0) <= this.opts.inlineBytes;
      for (const batch of inline ? [entries] : this.batches(entries)) {
        const texts = batch.map(([, item]) => item);
        const all = this.work<string[]>(
          inline,
          () => renderItems(texts),
          { kind: 'render', items: texts },
          this.opts.renderMs,
          () => texts.map((i) => plainFallback(i.text)),
        );
        batch.forEach(([key], k) =>
          this.track(
            key,
            all.then((r) => ({ value: r.value[k], weight: textWeight(r.value[k]), fallback: r.fallback })),
          ),
        );
      }
    }
    const values = await Promise.all(keys.map((k, i) => found[i] ?? this.inFlight.get(k)!));
    if (values.reduce((n, v) => n + v.weight, 0) >= HEAVY_BYTES) await this.turn();
    return values.map((v) => v.value as string);
  }

  /**
   * A published text as its document and version pages show it, under a page `<h1>` of its
   * `title` (util/documentHtml.ts: front matter table, headings with ids, contents, numbered
   * paragraphs). Past the time limit, plain text.
   */
  async document(text: string, title: string): Promise<string> {
    const key = `doc:${hash(title)}:${hash(text)}`;
    const hit = this.lookup(key) ?? this.inFlight.get(key);
    if (hit) return this.inTurn(hit) as Promise<string>;
    const done = this.work<string>(
      text.length <= this.opts.inlineBytes,
      () => renderDocument(text, title, headingIds(text)),
      { kind: 'document', text, title },
      this.opts.renderMs,
      () => plainFallback(text),
    );
    const entry = done.then((r) => ({ value: r.value, weight: textWeight(r.value), fallback: r.fallback }));
    this.track(key, entry);
    return this.inTurn(entry) as Promise<string>;
  }

  /**
   * A text's paragraph rows for the proposal page: where each sits and its HTML. Splitting a
   * large text is itself costly (1 MB of one-letter paragraphs), so it happens with the
   * rendering; a text that cannot be done in time is one row of plain text.
   */
  async paragraphs(text: string, by: number): Promise<RenderedBlock[]> {
    const key = `para:${by}:${hash(text)}`;
    const hit = this.lookup(key) ?? this.inFlight.get(key);
    if (hit) return this.inTurn(hit) as Promise<RenderedBlock[]>;
    const done = this.work<RenderedBlock[]>(
      text.length <= this.opts.inlineBytes,
      () => renderParagraphs(text, by),
      { kind: 'paragraphs', text, by },
      this.opts.renderMs,
      () => (text.trim() ? [{ start: 0, end: text.length, html: plainFallback(text) }] : []),
    );
    const entry = done.then((r) => ({
      value: r.value,
      weight: r.value.reduce((n, b) => n + textWeight(b.html) + 32, 0),
      fallback: r.fallback,
    }));
    this.track(key, entry);
    return this.inTurn(entry) as Promise<RenderedBlock[]>;
  }

  /**
   * What a page needs of a text's sections (services/textSections.ts): the ones it links, or the
   * one an anchor names; cached by the text's content. A 1 MB text may hold 210,000 headings
   * (half a second's work), so beyond `inlineDiffBytes` they are read on the pool. There is no
   * coarse form: past the time limit, 503 `busy` (nothing kept).
   */
  linkedSections(text: string): Promise<Section[]> {
    return this.exactCached(`linked:${hash(text)}`, text.length, () => linkedSectionsOf(text), {
      kind: 'linkedSections',
      text,
    });
  }

  findSection(text: string, anchor: string): Promise<Section | null> {
    return this.exactCached(`section:${hash(anchor)}:${hash(text)}`, text.length, () => findSectionIn(text, anchor), {
      kind: 'findSection',
      text,
      anchor,
    });
  }

  private exactCached<T extends Section | Section[] | null>(
    key: string,
    size: number,
    compute: () => T,
    task: Task,
  ): Promise<T> {
    const weigh = (s: Section) => 2 * (s.words.length + s.id.length) + 96;
    return this.kept(
      key,
      () => this.exact<T>(size, compute, task),
      (value) => (Array.isArray(value) ? value.reduce((n, s) => n + weigh(s), 64) : value ? weigh(value) : 64),
    );
  }

  /** The text with a section replaced (services/textSections.ts), on the pool beyond `inlineDiffBytes`; not cached. */
  async splice(text: string, anchor: string, replacement: string): Promise<string> {
    const r = await this.exact<Spliced>(
      text.length + replacement.length,
      () => ({ text: spliceText(text, anchor, replacement) }),
      { kind: 'splice', text, anchor, replacement },
    );
    if ('refused' in r) throw new DomainError(r.refused.kind, r.refused.code, r.refused.message);
    return r.text;
  }

  /** Work that has no coarse form: inline up to `inlineDiffBytes`, else on the pool within `diffMs`; past it, 503 `busy`. */
  private exact<T>(size: number, compute: () => T, task: Task): Promise<T> {
    return this.pooled(
      size <= this.opts.inlineDiffBytes,
      async () => compute(),
      task,
      this.opts.diffMs,
      () =>
        unavailable(
          'busy',
          `The server could not read this text's sections within ${this.opts.diffMs / 1000} s; please try again later.`,
          this.pool.options.retryAfter,
        ),
    );
  }

  /** Inline, or on the pool within `limitMs`; past the limit, the refusal `late` gives (nothing coarser exists). */
  private async pooled<T>(
    inline: boolean,
    compute: () => Promise<T>,
    task: Task,
    limitMs: number,
    late: () => DomainError,
  ): Promise<T> {
    if (inline) return compute();
    try {
      return await this.pool.run<T>(task, limitMs);
    } catch (e) {
      if (e instanceof WorkTimeout) throw late();
      throw e;
    }
  }

  /** The prose diff from `from` to `to` (coarse if it cannot be made in time). */
  async diff(from: string, to: string): Promise<Change[]> {
    const key = `diff:${hash(from)}:${hash(to)}`;
    const hit = this.lookup(key) ?? this.inFlight.get(key);
    if (hit) return this.inTurn(hit) as Promise<Change[]>;
    const done = this.work<Change[]>(
      from.length + to.length <= this.opts.inlineDiffBytes,
      () => diffProse(from, to),
      { kind: 'diff', from, to },
      this.opts.diffMs,
      () => coarseDiff(from, to),
    );
    const entry = done.then((r) => ({ value: r.value, weight: changesWeight(r.value), fallback: r.fallback }));
    this.track(key, entry);
    return this.inTurn(entry) as Promise<Change[]>;
  }

  /**
   * The rendered diff of two markdown texts (both rendered, compared block by block and word by
   * word), or null when it could not be made in time (the page then shows the source diff).
   * Small pairs inline, larger ones on the pool within the diff's time limit.
   */
  async renderedDiff(from: string, to: string, by: number): Promise<RenderedDiffBlock[] | null> {
    const key = `rdiff:${by}:${hash(from)}:${hash(to)}`;
    const hit = this.lookup(key) ?? this.inFlight.get(key);
    if (hit) return this.inTurn(hit) as Promise<RenderedDiffBlock[] | null>;
    const done = this.work<RenderedDiffBlock[] | null>(
      from.length + to.length <= this.opts.inlineBytes,
      () => renderedDiff(from, to, by),
      { kind: 'rdiff', from, to, by },
      this.opts.diffMs,
      () => null,
    );
    const entry = done.then((r) => ({
      value: r.value,
      weight: (r.value ?? []).reduce((n, b) => n + textWeight(b.html) + 64, 64),
      fallback: r.fallback,
    }));
    this.track(key, entry);
    return this.inTurn(entry) as Promise<RenderedDiffBlock[] | null>;
  }

  /**
   * A Word file's text as markdown (util/wordIn.ts), always on the pool (a small upload may
   * still unpack to a lot): `NotADocx` when it is not one, or when reading it broke the thread
   * (out of memory: a file that unpacks to more than its sizes say); 400 `docx_too_complex`
   * when it cannot be read in time; 503 `busy` when the queue is full. Uploads are not cached.
   */
  async wordIn(bytes: Uint8Array): Promise<string> {
    let r: WordInResult;
    try {
      r = await this.pool.run<WordInResult>({ kind: 'wordIn', bytes }, this.opts.wordMs);
    } catch (e) {
      if (e instanceof WorkTimeout)
        throw invalid('docx_too_complex', `The Word file could not be read within ${this.opts.wordMs / 1000} s.`);
      if ((e as { kind?: string })?.kind === 'unavailable') throw e;
      this.log('A Word file could not be read', e);
      throw new NotADocx('The file could not be read as a Word document.');
    }
    if ('notADocx' in r) throw new NotADocx(r.notADocx, r.tooLarge);
    return r.text;
  }

  /** A published text as a Word file (wordOut.ts), cached by its content. */
  wordText(text: string, meta: WordMeta): Promise<Uint8Array> {
    return this.wordFile(`wordText:${hash(JSON.stringify(meta))}:${hash(text)}`, () =>
      this.wordWork(text.length, async () => (await wordOut()).textDocx(text, meta), { kind: 'wordText', text, meta }),
    );
  }

  /** The comparison of two texts as a Word file with tracked changes (wordOut.ts), cached by its content. */
  wordChanges(from: string, to: string, meta: WordMeta, revisions: Revisions): Promise<Uint8Array> {
    const key = `wordChanges:${hash(JSON.stringify([meta, revisions]))}:${hash(from)}:${hash(to)}`;
    return this.wordFile(key, () =>
      this.wordWork(from.length + to.length, async () => (await wordOut()).changesDocx(from, to, meta, revisions), {
        kind: 'wordChanges',
        from,
        to,
        meta,
        revisions,
      }),
    );
  }

  private wordFile(key: string, make: () => Promise<Uint8Array>): Promise<Uint8Array> {
    return this.kept(key, make, (value) => value.length);
  }

  /** A result kept under `key` once `make` gives it (asked for again meanwhile, shared); a failure is not kept: the next request tries again. */
  private kept<T>(key: string, make: () => Promise<T>, weigh: (value: T) => number): Promise<T> {
    const hit = this.lookup(key) ?? this.inFlight.get(key);
    if (hit) return this.inTurn(hit) as Promise<T>;
    const entry = make().then((value) => ({ value, weight: weigh(value), fallback: false }));
    this.track(key, entry);
    entry.catch(() => {});
    return this.inTurn(entry) as Promise<T>;
  }

  /** Writing a Word file: inline when small, else on the pool within `wordMs`; past it, 503 `word_timeout`. */
  private wordWork<T>(size: number, compute: () => Promise<T>, task: Task): Promise<T> {
    return this.pooled(size <= this.opts.inlineWordBytes, compute, task, this.opts.wordMs, () =>
      unavailable(
        'word_timeout',
        `The Word file could not be made within ${this.opts.wordMs / 1000} s; please try again later.`,
        this.pool.options.retryAfter,
      ),
    );
  }

  /** Inline, or on the pool within `limitMs`; past the limit (or if the thread died), the coarse answer. */
  private async work<T>(
    inline: boolean,
    compute: () => T,
    task: Task,
    limitMs: number,
    coarse: () => T,
  ): Promise<{ value: T; fallback: boolean }> {
    if (inline) return { value: compute(), fallback: false };
    try {
      return { value: await this.pool.run<T>(task, limitMs), fallback: false };
    } catch (e) {
      if ((e as { kind?: string })?.kind === 'unavailable') throw e; // busy: 503, nothing kept
      if (!(e instanceof WorkTimeout)) this.log(`A ${task.kind} task failed; showing the coarse form`, e);
      this.stats.fallbacks++;
      return { value: coarse(), fallback: true };
    }
  }

  private async inTurn(v: Cached | Promise<Cached>): Promise<unknown> {
    const { value, weight } = await v;
    if (weight >= HEAVY_BYTES) await this.turn();
    return value;
  }

  /**
   * Resume after the callers ahead, one per turn of the event loop. What a page does after its
   * texts are ready (templates, a response of megabytes) is synchronous; when many requests
   * wait for the same render, or arrive together for cached texts, they would otherwise all
   * run back to back while /healthz and every other request wait. Waiters are woken one at a
   * time, with a pause as long as the last one's work between them (at most 250 ms), so the
   * event loop answers other requests between any two of them. A lone waiter goes on at once.
   * Only heavy results take a turn (HEAVY_BYTES).
   */
  private turn(): Promise<void> {
    return new Promise((resolve) => {
      this.turns.push(resolve);
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => this.wakeNext());
      }
    });
  }

  private wakeNext() {
    const wake = this.turns.shift();
    if (!wake) {
      this.draining = false;
      return;
    }
    const woken = performance.now();
    wake();
    // The woken request runs its synchronous part as soon as this callback returns. Measure it
    // (up to the next turn of the loop), then leave the loop as long again for everyone else —
    // a request needs several turns (accept, read, answer) — before waking the next waiter.
    setImmediate(() => setTimeout(() => this.wakeNext(), Math.min(MAX_PAUSE_MS, performance.now() - woken)));
  }

  private lookup(key: string): Cached | undefined {
    const v = this.cache.get(key);
    if (v === undefined) return undefined;
    const retryAt = this.failed.get(key);
    if (retryAt !== undefined && retryAt <= Date.now()) {
      this.failed.delete(key);
      this.coarse++;
      this.cache.delete(key);
      return undefined;
    }
    this.stats.hits++;
    return v;
  }

  /** Keep `key`'s result when `value` settles; while it runs, later askers share it. */
  private track(key: string, value: Promise<Cached>) {
    const entry = value.then((v) => {
      this.cache.set(key, v);
      if (v.fallback) this.markFailed(key);
      if (key.startsWith('diff:')) this.stats.diffed++;
      else this.stats.rendered++;
      return v;
    });
    this.inFlight.set(key, entry);
    const forget = () => {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    };
    entry.then(forget, forget);
  }

  private markFailed(key: string) {
    this.coarse++;
    const retryAt = Date.now() + this.opts.retryFailedMs;
    this.nextRetry = Math.min(this.nextRetry, retryAt);
    this.failed.set(key, retryAt);
    // Bounded like the cache: the oldest marks go first (their entries are then simply kept).
    if (this.failed.size > 10_000) this.failed.delete(this.failed.keys().next().value!);
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

/**
 * What a reader sees when a text could not be formatted in time: the text itself, escaped, as
 * it was written, with a line saying why. Linear in the text, safe by construction.
 */
export function plainFallback(text: string): string {
  const esc = text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
  return `<p class="muted unformatted">Shown as plain text: formatting it took too long.</p>\n<pre class="unformatted">${esc}</pre>\n`;
}
