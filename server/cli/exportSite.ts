import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { invalid } from '../domain/errors.js';
import type { Ctx } from '../services/context.js';
import { feedPage } from '../services/feeds.js';
import { listDocuments } from '../services/readDocuments.js';
import { fileOf, relativeUrl, rewriteAbsolute, rewriteLinks } from '../util/staticSite.js';

/**
 * `export --out DIR [--base-url URL]`: the whole public side as static files with relative
 * links — the documents, each history, every version (page and raw text), the comparison of
 * each version with the one before, the decision records (on the version pages), the feeds with
 * all their pages, the stylesheet, script and icon, and the public git repository — so that any
 * web host serves the published record without Ratify. Links to what is not exported (signing
 * in, other comparisons) go to the live site (BASE_URL).
 *
 * Incremental: a manifest in DIR remembers what was exported; a version page older than the last
 * exported latest, its raw text and its comparison never change, so they are not fetched again;
 * every other page is fetched and written only if its bytes changed. A publication during the
 * export is caught by a second pass.
 */

export interface SitePage {
  status: number;
  type: string;
  body: Buffer;
  location?: string;
}

/** The public pages as a signed-out reader gets them (made above this layer: see server/sitePages.ts). */
export interface SitePages {
  get(url: string): Promise<SitePage>;
  close(): Promise<void>;
}

export type OpenSitePages = (ctx: Ctx, baseUrl: string) => Promise<SitePages>;

export interface ExportInput {
  out: string;
  /** Where the copy will be served (citations and feeds name it); default the live BASE_URL. */
  baseUrl: string;
  /** The running site, for links to what is not exported. */
  liveUrl: string;
}

export interface ExportReport {
  out: string;
  pages: number;
  written: number;
  unchanged: number;
  skipped: number;
  versions: number;
  passes: number;
}

const MANIFEST = '.ratify-export.json';
/** Bump when the layout or the rewriting changes: an older export is then written whole again. */
const FORMAT = 1;

interface Manifest {
  format: number;
  baseUrl: string;
  liveUrl: string;
  /** The latest version of each document at the last export. */
  latest: Record<string, number>;
  /** The stylesheet and script names (fingerprinted): another build writes every page again. */
  assets: string[];
}

const hashOf = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function exportSite(
  ctx: Ctx,
  open: OpenSitePages,
  input: ExportInput,
  progress: (m: string) => void = () => {},
): Promise<ExportReport> {
  if (!/^https?:\/\/[^/]+/.test(input.baseUrl)) throw invalid('invalid_base_url', 'The base URL is an http(s) URL.');
  const out = input.out;
  await fsp.mkdir(out, { recursive: true });
  const before = await readManifest(out);
  const report: ExportReport = { out, pages: 0, written: 0, unchanged: 0, skipped: 0, versions: 0, passes: 0 };
  const pages = await open(ctx, input.baseUrl);
  try {
    for (let pass = 1; pass <= 3; pass++) {
      report.passes = pass;
      const latest = Object.fromEntries(listDocuments(ctx).map(({ doc }) => [doc.slug, doc.latest]));
      await onePass(ctx, pages, input, before, latest, report, progress);
      const now = Object.fromEntries(listDocuments(ctx).map(({ doc }) => [doc.slug, doc.latest]));
      if (JSON.stringify(now) === JSON.stringify(latest)) break;
      progress('a version was published during the export: once more');
    }
  } finally {
    await pages.close();
  }
  // The public repository, copied while no publication writes it (publications hold this lock).
  if (ctx.publicRepo) {
    const dest = path.join(out, 'git', 'public.git');
    await ctx.publishing.run(() => fsp.cp(ctx.publicRepo!.gitdir, dest, { recursive: true, force: true }));
  }
  return report;
}

async function readManifest(out: string): Promise<Manifest | null> {
  try {
    const m = JSON.parse(await fsp.readFile(path.join(out, MANIFEST), 'utf8')) as Manifest;
    return m.format === FORMAT ? m : null;
  } catch {
    return null;
  }
}

async function onePass(
  ctx: Ctx,
  pages: SitePages,
  input: ExportInput,
  before: Manifest | null,
  latest: Record<string, number>,
  report: ExportReport,
  progress: (m: string) => void,
): Promise<void> {
  // Every URL of the export, and whether it may be skipped when its file exists.
  const urls = new Map<string, boolean>();
  const add = (url: string, fixed = false) => urls.set(url, fixed);
  // A feed (the site's, or a document's) in both formats, every page.
  const addFeeds = (slug: string | null) => {
    const prefix = slug ? `/documents/${slug}/feed` : '/feed';
    const pages = feedPage(ctx, slug, 1).pages;
    for (const ext of ['atom', 'json'])
      for (let p = 1; p <= pages; p++) add(p === 1 ? `${prefix}.${ext}` : `${prefix}.${ext}?page=${p}`);
  };
  add('/');
  addFeeds(null);
  /** Each short link (`/documents/:slug/v/:n`, as cited) and the version page it leads to. */
  const shorts = new Map<string, string>();
  let versions = 0;
  for (const [slug, n] of Object.entries(latest)) {
    add(`/documents/${slug}`);
    add(`/documents/${slug}/history`);
    addFeeds(slug);
    const was = before?.latest[slug] ?? 0;
    for (let v = 1; v <= n; v++) {
      versions++;
      add(`/documents/${slug}/versions/${v}`, v < was);
      add(`/documents/${slug}/versions/${v}.md`, v <= was);
      if (v > 1) add(`/documents/${slug}/compare?from=${v - 1}&to=${v}`, v <= was);
      shorts.set(`/documents/${slug}/v/${v}`, `/documents/${slug}/versions/${v}`);
    }
  }
  report.versions = versions;
  const exported = (url: string) => {
    if (urls.has(url) || ASSET.test(url)) return fileOf(url);
    const target = shorts.get(url);
    return target ? fileOf(target) : null;
  };

  // The stylesheet, script and icon the pages name: fetched once, kept under their names.
  const assets = new Set<string>();
  const sameBuild = (names: string[]) =>
    before !== null &&
    before.baseUrl === input.baseUrl &&
    before.liveUrl === input.liveUrl &&
    JSON.stringify(before.assets) === JSON.stringify(names);
  let reuse: boolean | null = null;

  let done = 0;
  for (const [url, fixed] of urls) {
    const file = fileOf(url)!;
    const dest = path.join(input.out, file);
    if (fixed && reuse !== false) {
      if (reuse === null) {
        // Decided on the first page: the same build and base as the last export, or everything again.
        const first = await pages.get('/');
        reuse = sameBuild(assetNames(first.body.toString('utf8')));
      }
      if (reuse && (await exists(dest))) {
        report.skipped++;
        continue;
      }
    }
    const page = await pages.get(url);
    if (page.status !== 200) throw new Error(`${url} answered ${page.status}`);
    let body = page.body;
    if (page.type.startsWith('text/html')) {
      const html = body.toString('utf8');
      for (const a of assetNames(html)) assets.add(a);
      body = Buffer.from(rewriteLinks(html, url, file, exported, input.liveUrl));
    } else if (/xml|json/.test(page.type) && input.baseUrl.replace(/\/$/, '') !== input.liveUrl.replace(/\/$/, '')) {
      // Feeds name their pages and entries by query: point those at the files where the copy is
      // served (at the live site's own address, the live site answers those queries itself).
      body = Buffer.from(rewriteAbsolute(body.toString('utf8'), input.baseUrl, exported));
    }
    await writeIfChanged(dest, body, report);
    report.pages++;
    if (++done % 100 === 0) progress(`${done} of ${urls.size} pages`);
  }

  // A short link (`/documents/:slug/v/:n`, as cited) is a page that sends the reader on.
  for (const [short, target] of shorts) {
    const file = fileOf(short)!;
    const to = relativeUrl(file, fileOf(target)!);
    const html = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Moved</title><meta http-equiv="refresh" content="0; url=${to}"><link rel="canonical" href="${to}"></head><body><p><a href="${to}">${target}</a></p></body></html>\n`;
    await writeIfChanged(path.join(input.out, file), Buffer.from(html), report);
  }

  for (const a of assets) {
    const page = await pages.get(a);
    if (page.status === 200) await writeIfChanged(path.join(input.out, fileOf(a)!), page.body, report);
  }
  const manifest: Manifest = {
    format: FORMAT,
    baseUrl: input.baseUrl,
    liveUrl: input.liveUrl,
    latest,
    assets: [...assets].sort(),
  };
  // Merged with what an unchanged build already had, so a pass that skipped pages keeps their assets.
  if (reuse && before) manifest.assets = [...new Set([...before.assets, ...manifest.assets])].sort();
  await fsp.writeFile(path.join(input.out, MANIFEST), JSON.stringify(manifest, null, 2));
}

/** The site's own files: the stylesheet and script (fingerprinted), the icon. */
const ASSET = /^\/(?:assets\/[\w.-]+|favicon\.[a-z]+)$/;

/** The site's own files a page names. */
function assetNames(html: string): string[] {
  const names = new Set<string>();
  for (const m of html.matchAll(/\b(?:href|src)="(\/[^"]+)"/g)) if (ASSET.test(m[1])) names.add(m[1]);
  return [...names].sort();
}

async function exists(file: string): Promise<boolean> {
  return fsp.stat(file).then(
    () => true,
    () => false,
  );
}

async function writeIfChanged(file: string, body: Buffer, report: ExportReport): Promise<void> {
  const old = await fsp.readFile(file).catch(() => null);
  if (old && hashOf(old) === hashOf(body)) {
    report.unchanged++;
    return;
  }
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  await fsp.writeFile(tmp, body);
  await fsp.rename(tmp, file);
  report.written++;
}
