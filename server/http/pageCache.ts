import type { Request, Response } from 'express';

/**
 * Public pages rendered once for every anonymous reader. A page for someone not signed in (no
 * account, no session, no form token) is a function of its URL and the stored state alone, so
 * it is kept under its URL and the version of the collections public pages are made from (the
 * seq of the last change to any of them: `publicStateVersion` in services/readDocuments.ts) and sent again until one of them is
 * written. Messages, digests and tokens are written all the time and appear on no public page.
 * Sized in bytes, least recently used first out. Signed-in readers always get a page rendered
 * for them. A page is kept encoded, with the ETag express gives it (`etag fn`): sending it again
 * neither encodes nor hashes it (~0.1 ms of the ~1.2 ms a published page costs under load).
 */
export class PageCache {
  private readonly pages = new Map<string, { body: Buffer; etag: string | undefined }>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  constructor(
    /** The store's version: any write changes it. */
    private readonly version: () => number,
    private readonly maxBytes = 32 * 1024 * 1024,
  ) {}

  /** The key of this request's page, or null when the page is personal (someone signed in). */
  private keyOf(req: Request): string | null {
    if (req.user || req.method !== 'GET') return null;
    return `${this.version()} ${req.originalUrl}`;
  }

  /** Send the page kept for this request, if there is one (then the route has nothing more to do). */
  sendKept(req: Request, res: Response): boolean {
    const key = this.keyOf(req);
    if (key === null) return false;
    const kept = this.pages.get(key);
    if (kept === undefined) {
      this.misses++;
      res.locals.pageKey = key;
      return false;
    }
    this.hits++;
    // Most recently used last.
    this.pages.delete(key);
    this.pages.set(key, kept);
    // Set before send: express then compares it with If-None-Match (a 304) and does not hash the page.
    if (kept.etag) res.set('ETag', kept.etag);
    res.type('html').send(kept.body);
    return true;
  }

  /**
   * Keep `body` as the page of this request (after `sendKept` found none), unless a write came in
   * while it was being made: it might then mix two states.
   */
  keep(req: Request, res: Response, body: Buffer): void {
    const key = res.locals.pageKey as string | undefined;
    if (!key || key !== this.keyOf(req) || body.length > this.maxBytes / 8) return;
    const etagOf = req.app.get('etag fn') as ((body: Buffer, encoding: string) => string) | undefined;
    const before = this.pages.get(key);
    if (before !== undefined) this.bytes -= before.body.length;
    this.pages.set(key, { body, etag: etagOf?.(body, 'utf8') });
    this.bytes += body.length;
    for (const [k, v] of this.pages) {
      if (this.bytes <= this.maxBytes) break;
      this.pages.delete(k);
      this.bytes -= v.body.length;
    }
  }

  stats(): { hits: number; misses: number; pages: number; bytes: number } {
    return { hits: this.hits, misses: this.misses, pages: this.pages.size, bytes: this.bytes };
  }
}
