import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';
import { Lru } from '../../util/lru.js';

// Default preset: raw HTML off. The output is sanitised anyway, so a change to the preset or a
// plugin can never let a script through.
const md = new MarkdownIt('default', { html: false, linkify: false, typographer: false });

const ALLOWED = {
  allowedTags: [
    'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'hr', 'blockquote', 'pre', 'code', 'em', 'strong', 's', 'del', 'ins',
    'ul', 'ol', 'li', 'a', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'img', 'sup', 'sub',
  ],
  allowedAttributes: { a: ['href', 'title'], img: ['src', 'alt', 'title'], th: ['style'], td: ['style'], ol: ['start'] },
  allowedStyles: { '*': { 'text-align': [/^(left|right|center)$/] } },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
};

/** Markdown to safe HTML: rendered by markdown-it, then sanitised (no script, no handlers, no javascript: links). */
export function renderMarkdown(text: string): string {
  return sanitizeHtml(md.render(text), ALLOWED);
}

const rendered = new Lru<string>(16 * 1024 * 1024, (s) => s.length);

/** The rendering of a published text, cached by its blob id (the text behind an id never changes). */
export function renderBlob(blob: string, text: string): string {
  return rendered.get(blob) ?? rendered.set(blob, renderMarkdown(text));
}
