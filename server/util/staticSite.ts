/**
 * How the public side is laid out as static files (the static export, cli/exportSite.ts), and
 * how a page's links are rewritten to point at those files. Pure: URLs in, paths and text out.
 *
 * A page URL becomes a folder with an `index.html` (`/documents/tor/history` →
 * `documents/tor/history/index.html`), so that a web host serves it at its own URL as well as
 * from the file; a URL with a query names its own file (`/documents/tor/compare?from=2&to=3` →
 * `documents/tor/compare/2-3/index.html`, `/feed.atom?page=2` → `feed-2.atom`).
 */

/** The file (relative to the export's root) that holds `url` (path and query), or null if it has no place in an export. */
export function fileOf(url: string): string | null {
  const u = new URL(url, 'http://x');
  const p = decodeURIComponent(u.pathname);
  if (p.includes('..') || p.includes('\\') || p.includes('\0')) return null;
  const q = u.searchParams;
  const page = q.get('page');
  const feed = /^(\/(?:documents\/[^/]+\/)?)feed\.(atom|json)$/.exec(p);
  if (feed) {
    if (page && /^[1-9]\d*$/.test(page) && page !== '1') return `${feed[1].slice(1)}feed-${page}.${feed[2]}`;
    return [...q.keys()].every((k) => k === 'page') ? `${feed[1].slice(1)}feed.${feed[2]}` : null;
  }
  const compare = /^\/documents\/([^/]+)\/compare$/.exec(p);
  if (compare) {
    const from = q.get('from');
    const to = q.get('to');
    const only = [...q.keys()].every((k) => k === 'from' || k === 'to');
    if (!only || !from || !to || !/^\d+$/.test(from) || !/^\d+$/.test(to)) return null;
    return `documents/${compare[1]}/compare/${from}-${to}/index.html`;
  }
  if ([...q.keys()].length) return null;
  if (p === '/') return 'index.html';
  if (/\.[a-z0-9]+$/i.test(p)) return p.slice(1);
  return `${p.replace(/^\/|\/$/g, '')}/index.html`;
}

/** The path from the file `from` to the file `to` (both relative to the root), as a relative URL. */
export function relativeUrl(from: string, to: string): string {
  const a = from.split('/').slice(0, -1);
  const b = to.split('/');
  let i = 0;
  while (i < a.length && i < b.length - 1 && a[i] === b[i]) i++;
  const rel = [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
  return rel
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%2E/g, '.'))
    .join('/');
}

/**
 * A page's HTML with every link into the site (`href`, `src`, `action` with a root-relative or
 * relative URL) pointing at the exported file when it was exported (`exported(url)` is its file),
 * and otherwise at the live site (`live` + the URL: signing in, a comparison of any two versions).
 * Links elsewhere and fragments are left as they are.
 */
export function rewriteLinks(
  html: string,
  page: string,
  pageFile: string,
  exported: (url: string) => string | null,
  live: string,
): string {
  return html.replace(/\b(href|src|action)="([^"]*)"/g, (whole, attr: string, raw: string) => {
    const value = raw.replace(/&amp;/g, '&');
    if (!value || value.startsWith('#') || /^[a-z][a-z0-9+.-]*:/i.test(value) || value.startsWith('//')) return whole;
    const u = new URL(value, `http://x${page}`);
    const url = u.pathname + u.search;
    const file = exported(url);
    const target = file ? relativeUrl(pageFile, file) + u.hash : live.replace(/\/$/, '') + url + u.hash;
    return `${attr}="${target.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`;
  });
}

/**
 * A feed's absolute links into the site (`base` + URL) pointed at the exported files, so that
 * paging (`?page=2`) and entries (`compare?from=1&to=2`) work on a host that ignores queries;
 * a page's folder is named rather than its `index.html`.
 */
export function rewriteAbsolute(text: string, base: string, exported: (url: string) => string | null): string {
  const b = base.replace(/\/$/, '');
  const pattern = new RegExp(`${b.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(/[^"<\\s]*)`, 'g');
  return text.replace(pattern, (whole, raw: string) => {
    const amp = raw.includes('&amp;');
    const url = raw.replace(/&amp;/g, '&');
    const file = exported(url);
    // A URL without a query is served as it is (a host serves a folder's index.html).
    if (!file || !url.includes('?')) return whole;
    const to = `${b}/${file.replace(/(^|\/)index\.html$/, '$1')}`;
    return amp ? to.replace(/&/g, '&amp;') : to;
  });
}
