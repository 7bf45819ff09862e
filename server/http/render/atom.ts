/** A minimal Atom 1.0 feed (RFC 4287). */
export interface FeedEntry {
  id: string;
  title: string;
  updated: string;
  link: string;
  author: string;
  summary: string;
}

/**
 * Characters XML 1.0 forbids anywhere in a document: C0 controls other than tab, LF and CR;
 * U+FFFE and U+FFFF; surrogates that are not part of a pair. One of them makes a whole feed
 * unreadable, so they are dropped from everything written into one.
 */
const FORBIDDEN_IN_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `s` without the characters XML 1.0 forbids. */
export const xmlSafe = (s: string): string => s.replace(FORBIDDEN_IN_XML, '');

const esc = (s: string) =>
  xmlSafe(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/** RFC 5005 links of a paged feed: `first`, `last`, `previous` (newer), `next` (older). */
export interface PageLinks {
  first: string;
  last: string;
  previous?: string;
  next?: string;
}

export function atomFeed(feed: {
  id: string;
  title: string;
  self: string;
  alternate: string;
  updated: string;
  entries: FeedEntry[];
  paging?: PageLinks;
}): string {
  const paging = feed.paging
    ? (['first', 'last', 'previous', 'next'] as const)
        .filter((rel) => feed.paging![rel])
        .map((rel) => `\n  <link rel="${rel}" type="application/atom+xml" href="${esc(feed.paging![rel]!)}"/>`)
        .join('')
    : '';
  const entries = feed.entries
    .map(
      (e) => `  <entry>
    <id>${esc(e.id)}</id>
    <title>${esc(e.title)}</title>
    <updated>${esc(e.updated)}</updated>
    <link rel="alternate" type="text/html" href="${esc(e.link)}"/>
    <author><name>${esc(e.author)}</name></author>
    <summary>${esc(e.summary)}</summary>
  </entry>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <id>${esc(feed.id)}</id>
  <title>${esc(feed.title)}</title>
  <updated>${esc(feed.updated)}</updated>
  <link rel="self" type="application/atom+xml" href="${esc(feed.self)}"/>
  <link rel="alternate" type="text/html" href="${esc(feed.alternate)}"/>${paging}
${entries}
</feed>
`;
}
