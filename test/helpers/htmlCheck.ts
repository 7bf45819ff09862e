/**
 * Structural checks of an HTML document, for the HTML part of mails (issue 13): read with
 * htmlparser2 (the HTML parser sanitize-html is built on), the document must be whole —
 * doctype, one html with a language, one head with the charset and a non-empty title, one
 * body — every element closed where it was opened (never closed for it by the parser, no end
 * tag without its start), only elements and attributes a mail uses, each where HTML allows it
 * (no block inside a paragraph or a phrase, list items in lists, table rows in tables, no link
 * in a link), no event handler, links only to http(s) or mailto, and every `&` a character
 * reference. Returns the problems found (none: the document passes).
 */
import { Parser } from 'htmlparser2';

const VOID = new Set(['br', 'hr', 'img', 'meta']);
const PHRASING = new Set(['a', 'strong', 'em', 'ins', 'del', 's', 'code', 'span', 'sup', 'sub', 'br', 'img']);
const FLOW = new Set([
  'p',
  'div',
  'blockquote',
  'pre',
  'ul',
  'ol',
  'li',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'hr',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
]);
const DOCUMENT = new Set(['html', 'head', 'body', 'title', 'meta']);
/** The attributes each element may carry (`*`: any element). */
const ATTRIBUTES: Record<string, string[]> = {
  '*': ['style', 'title'],
  html: ['lang'],
  meta: ['charset'],
  a: ['href'],
  img: ['src', 'alt'],
  ol: ['start'],
};
/** Where an element may sit: the names its parent may have. */
const PARENTS: Record<string, string[]> = {
  head: ['html'],
  body: ['html'],
  title: ['head'],
  meta: ['head'],
  li: ['ul', 'ol'],
  thead: ['table'],
  tbody: ['table'],
  tr: ['table', 'thead', 'tbody'],
  th: ['tr'],
  td: ['tr'],
};
/** Elements whose element children are only these. */
const CHILDREN: Record<string, string[]> = {
  html: ['head', 'body'],
  head: ['meta', 'title'],
  ul: ['li'],
  ol: ['li'],
  table: ['thead', 'tbody', 'tr'],
  thead: ['tr'],
  tbody: ['tr'],
  tr: ['th', 'td'],
};

export function htmlProblems(html: string): string[] {
  const problems: string[] = [];
  if (!/^<!doctype html>/i.test(html)) problems.push('no <!doctype html> at the start');
  const stack: string[] = [];
  const count = new Map<string, number>();
  const closed = new Map<string, number>();
  let title = '';
  let charset = false;
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        const parent = stack.at(-1);
        count.set(name, (count.get(name) ?? 0) + 1);
        if (!PHRASING.has(name) && !FLOW.has(name) && !DOCUMENT.has(name)) problems.push(`unknown element <${name}>`);
        if (!parent && name !== 'html') problems.push(`<${name}> outside <html>`);
        if (parent && PARENTS[name] && !PARENTS[name].includes(parent)) problems.push(`<${name}> inside <${parent}>`);
        if (parent && CHILDREN[parent] && !CHILDREN[parent].includes(name))
          problems.push(`<${name}> inside <${parent}>`);
        if (parent && (parent === 'p' || PHRASING.has(parent)) && !PHRASING.has(name))
          problems.push(`<${name}> inside <${parent}> (only phrasing content may be there)`);
        if (name === 'a' && stack.includes('a')) problems.push('a link inside a link');
        if (parent === 'body' || stack.includes('body')) {
          if (DOCUMENT.has(name)) problems.push(`<${name}> inside <body>`);
        }
        for (const [attr, value] of Object.entries(attribs)) {
          if (!(ATTRIBUTES['*'].includes(attr) || ATTRIBUTES[name]?.includes(attr)))
            problems.push(`attribute ${attr} on <${name}>`);
          if (/^on/i.test(attr)) problems.push(`event handler ${attr} on <${name}>`);
          if ((attr === 'href' || attr === 'src') && !/^(https?:|mailto:)/i.test(value))
            problems.push(`${attr}="${value}" on <${name}>`);
        }
        if (name === 'html' && !attribs.lang) problems.push('<html> without lang');
        if (name === 'meta' && attribs.charset?.toLowerCase() === 'utf-8') charset = true;
        stack.push(name);
      },
      onclosetag(name, isImplied) {
        stack.pop();
        if (isImplied && !VOID.has(name)) problems.push(`<${name}> not closed where it should be`);
        if (!isImplied) closed.set(name, (closed.get(name) ?? 0) + 1);
      },
      ontext(text) {
        if (stack.at(-1) === 'title') title += text;
        else if (stack.at(-1) === 'html' || stack.at(-1) === 'head') {
          if (text.trim()) problems.push(`text outside <body>: ${JSON.stringify(text.slice(0, 40))}`);
        } else if (!stack.length && text.trim()) problems.push('text outside <html>');
      },
    },
    { decodeEntities: true, lowerCaseTags: false, lowerCaseAttributeNames: false },
  );
  parser.write(html);
  parser.end();
  for (const name of ['html', 'head', 'body', 'title'])
    if (count.get(name) !== 1) problems.push(`${count.get(name) ?? 0} <${name}> elements`);
  if (!title.trim()) problems.push('an empty <title>');
  if (!charset) problems.push('no <meta charset="utf-8">');
  // An end tag with no start (the parser drops it silently): more in the source than were closed.
  for (const [name, n] of [...html.matchAll(/<\/([a-zA-Z0-9]+)\s*>/g)].reduce(
    (m, x) => m.set(x[1].toLowerCase(), (m.get(x[1].toLowerCase()) ?? 0) + 1),
    new Map<string, number>(),
  ))
    if (n !== (closed.get(name) ?? 0)) problems.push(`${n} </${name}> for ${closed.get(name) ?? 0} <${name}> closed`);
  // A start tag the parser made up (a stray `</p>` opens an empty paragraph): more opened than written.
  for (const [name, n] of count) {
    const written = html.match(new RegExp(`<${name}[\\s/>]`, 'gi'))?.length ?? 0;
    if (n !== written) problems.push(`${n} <${name}> elements for ${written} written`);
  }
  if (/&(?!(?:[a-zA-Z][a-zA-Z0-9]*|#[0-9]+|#x[0-9a-fA-F]+);)/.test(html))
    problems.push('an & that is no character reference');
  return problems;
}

/** The text of the title element, entities decoded. */
export function htmlTitle(html: string): string {
  let title = '';
  let inTitle = false;
  const parser = new Parser(
    {
      onopentag: (name) => (inTitle = name === 'title'),
      onclosetag: () => (inTitle = false),
      ontext: (text) => {
        if (inTitle) title += text;
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return title;
}
