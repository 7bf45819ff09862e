/** A minimal Atom 1.0 feed (RFC 4287). */
export interface FeedEntry {
  id: string;
  title: string;
  updated: string;
  link: string;
  author: string;
  summary: string;
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

export function atomFeed(feed: { id: string; title: string; self: string; alternate: string; updated: string; entries: FeedEntry[] }): string {
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
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>${esc(feed.id)}</id>
  <title>${esc(feed.title)}</title>
  <updated>${esc(feed.updated)}</updated>
  <link rel="self" type="application/atom+xml" href="${esc(feed.self)}"/>
  <link rel="alternate" type="text/html" href="${esc(feed.alternate)}"/>
${entries}
</feed>
`;
}
