/**
 * The one markdown renderer: markdown-it (raw HTML off), then sanitize-html with the allowed
 * tags, attributes and schemes below. The pages render through it (http/render/renderer.ts,
 * the worker pool, paragraph rows) and so do the mails' HTML parts (services/notifications),
 * so what a member wrote looks, and is made safe, the same way everywhere.
 *
 * The two packages (with postcss, htmlparser2 and entities, which sanitize-html brings: ~0.55 MB
 * of the ~2.4 MB of JavaScript the server compiles) are not loaded with this module: the server
 * loads them once its port is open (`loadMarkdown`, server/main.ts), and its requests wait for
 * that (http/app.ts), as do the worker threads before their first task. Code that renders before
 * then (a command of the CLI, a test) loads them at once, synchronously, at its first use.
 */
import { createRequire } from 'node:module';
import type MarkdownItClass from 'markdown-it';
import type { MarkdownIt, StateCore, Token } from 'markdown-it';
import type Sanitize from 'sanitize-html';

export type { Token };

interface Engines {
  md: MarkdownIt;
  sanitizeHtml: typeof Sanitize;
}

let engines: Engines | null = null;
let loading: Promise<void> | null = null;

/**
 * Load markdown-it and sanitize-html, once; resolves when the renderer is ready. If the build's
 * files of them cannot be loaded, the packages are loaded from node_modules instead; if that
 * fails too, the promise rejects and the next call tries again.
 */
export function loadMarkdown(): Promise<void> {
  // Loaded already by a render that came first: nothing to load again.
  if (engines) loading ??= Promise.resolve();
  loading ??= Promise.all([import('markdown-it'), import('sanitize-html')])
    .then(
      ([m, s]) => {
        engines ??= build(m.default, s.default);
      },
      () => void ready(),
    )
    .catch((e: unknown) => {
      loading = null;
      throw e;
    });
  return loading;
}

/** Whether the renderer is ready (its packages are loaded). */
export const markdownLoaded = (): boolean => engines !== null;

/** The renderer, loading its packages at once if `loadMarkdown` has not. */
function ready(): Engines {
  if (engines) return engines;
  const nodeRequire = createRequire(import.meta.url);
  engines = build(
    nodeRequire('markdown-it') as typeof MarkdownItClass,
    nodeRequire('sanitize-html') as typeof Sanitize,
  );
  return engines;
}

/** The markdown-it instance every text is parsed and rendered with. */
export const markdownIt = (): MarkdownIt => ready().md;

const sanitizeHtml = (html: string, options: Sanitize.IOptions): string => ready().sanitizeHtml(html, options);

function build(Make: typeof MarkdownItClass, sanitize: typeof Sanitize): Engines {
  // Default preset: raw HTML off. The output is sanitised anyway, so a change to the preset or a
  // plugin can never let a script through.
  const md = new Make('default', { html: false, linkify: false, typographer: false });
  md.core.ruler.push('relative_urls', relativeUrls);
  return { md, sanitizeHtml: sanitize };
}

/** An address that leads somewhere from any page and any mail: http(s) or mailto (an image: http(s) only). */
const absolute = (url: string) => /^(https?|mailto):/i.test(url.trim());

/**
 * Relative images and links (`../assets/eip-1/process.png`, `./eip-5.md`), as imported texts
 * carry them, point at files Ratify does not have: an image becomes its alt text, a link its
 * text, so no page or mail makes a broken request. Fragments (`#section`) and site paths
 * (`/documents/…`) stay links.
 */
function relativeUrls(state: StateCore): void {
  for (const block of state.tokens) {
    if (block.type !== 'inline' || !block.children) continue;
    const out: Token[] = [];
    const dropped: boolean[] = [];
    for (const t of block.children) {
      if (t.type === 'image' && !/^https?:/i.test(String(t.attrGet('src') ?? '').trim())) {
        const alt = (t.children ?? []).map((c) => c.content).join('');
        if (!alt) continue;
        const open = new state.Token('html_inline', '', 0);
        open.content = '<span class="noimage">';
        const text = new state.Token('text', '', 0);
        text.content = alt;
        const close = new state.Token('html_inline', '', 0);
        close.content = '</span>';
        out.push(open, text, close);
      } else if (t.type === 'link_open') {
        const href = String(t.attrGet('href') ?? '');
        const drop = !absolute(href) && !href.startsWith('#') && !/^\/(?!\/)/.test(href);
        dropped.push(drop);
        if (!drop) out.push(t);
      } else if (t.type === 'link_close') {
        if (!dropped.pop()) out.push(t);
      } else out.push(t);
    }
    block.children = out;
  }
}

const MAIL_ALLOWED = {
  allowedTags: [
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'p',
    'br',
    'hr',
    'blockquote',
    'pre',
    'code',
    'em',
    'strong',
    's',
    'del',
    'ins',
    'ul',
    'ol',
    'li',
    'a',
    'table',
    'thead',
    'tbody',
    'tr',
    'th',
    'td',
    'img',
    'sup',
    'sub',
    'span',
  ],
  allowedAttributes: {
    a: ['href', 'title'],
    img: ['src', 'alt', 'title'],
    th: ['style'],
    td: ['style'],
    ol: ['start'],
  },
  allowedClasses: { span: ['noimage'] },
  allowedStyles: { '*': { 'text-align': [/^(left|right|center)$/] } },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
};

/**
 * On pages a code block wider than the screen scrolls sideways, so it is focusable and can be
 * scrolled from the keyboard (axe: scrollable-region-focusable). Mail has no such need (and a
 * mail client would not keep the attribute).
 */
const ALLOWED = {
  ...MAIL_ALLOWED,
  allowedAttributes: { ...MAIL_ALLOWED.allowedAttributes, pre: ['tabindex'] },
  transformTags: {
    pre: (tagName: string, attribs: Record<string, string>) => ({ tagName, attribs: { ...attribs, tabindex: '0' } }),
  },
};

/**
 * What the document pages add (util/documentHtml.ts): ids on headings (slugs) and paragraph
 * blocks (`p-N`), the contents, the front matter table, the paragraph permalinks. Only
 * documentHtml.ts writes these attributes (markdown-it with raw HTML off writes none), and only
 * on the tags and with the classes listed.
 */
const HEADINGS = ['h2', 'h3', 'h4', 'h5', 'h6'];
const DOC_ALLOWED: Sanitize.IOptions = {
  ...ALLOWED,
  allowedTags: [...ALLOWED.allowedTags, 'div', 'nav', 'caption'],
  allowedAttributes: {
    ...ALLOWED.allowedAttributes,
    ...Object.fromEntries(HEADINGS.map((h) => [h, ['id']])),
    div: ['id'],
    nav: ['aria-label'],
    th: ['style', 'scope'],
  },
  allowedClasses: {
    ...ALLOWED.allowedClasses,
    div: ['para'],
    a: ['pnum'],
    nav: ['toc'],
    p: ['toc-title'],
    table: ['frontmatter'],
    pre: ['frontmatter'],
    span: ['noimage', 'visually-hidden'],
    caption: ['visually-hidden'],
  },
};

/** HTML of markdown-it's output and tags of ours, sanitised with the markdown rules. */
export const sanitize = (html: string): string => sanitizeHtml(html, ALLOWED);

/** A document page's HTML (util/documentHtml.ts), sanitised with the rules for its ids and classes. */
export const sanitizeDocument = (html: string): string => sanitizeHtml(html, DOC_ALLOWED);

/** Markdown to safe HTML: rendered by markdown-it, then sanitised (no script, no handlers, no javascript: links). */
export function renderMarkdown(text: string): string {
  return sanitizeHtml(markdownIt().render(text), ALLOWED);
}

/** A text to render, with how many levels its headings move down (so they sit under the page's). */
export interface MarkdownItem {
  text: string;
  by: number;
}

/** Headings moved `by` levels down (up when negative; h1 to h6), so a text's own "# Title" keeps the page's outline. */
export const shiftHeadings = (html: string, by: number) =>
  by
    ? html.replace(
        /<(\/?)h([1-6])>/g,
        (_m, slash: string, n: string) => `<${slash}h${Math.max(1, Math.min(6, Number(n) + by))}>`,
      )
    : html;

/** The level of the highest heading in sanitised HTML (7 when there is none). */
export const topHeading = (html: string) =>
  [...html.matchAll(/<h([1-6])>/g)].reduce((m, h) => Math.min(m, Number(h[1])), 7);

/** One item: rendered, sanitised, its headings moved down. */
export const renderItem = (item: MarkdownItem): string => shiftHeadings(renderMarkdown(item.text), item.by);

/** One item as a mail shows it: as `renderItem`, without what only pages need. */
export const renderMailItem = (item: MarkdownItem): string =>
  shiftHeadings(sanitizeHtml(markdownIt().render(item.text), MAIL_ALLOWED), item.by);

/**
 * Many items at once, the same as `renderItem` on each but cheaper: sanitising costs about as
 * much again as rendering, and most of that is set-up per call, so the rendered items are
 * sanitised together, split at NUL (which no text holds: checkText refuses it and markdown-it
 * replaces it). Each item's HTML is balanced, so the separators stay at the top level; if the
 * pieces ever do not come back one per item, each is sanitised alone.
 */
export function renderItems(items: MarkdownItem[]): string[] {
  if (items.length < 2) return items.map(renderItem);
  const md = markdownIt();
  const raw = items.map((i) => md.render(i.text));
  const pieces = raw.some((h) => h.includes('\u0000')) ? [] : sanitizeHtml(raw.join('\u0000'), ALLOWED).split('\u0000');
  const safe = pieces.length === items.length ? pieces : raw.map((h) => sanitizeHtml(h, ALLOWED));
  return safe.map((h, k) => shiftHeadings(h, items[k].by));
}
