/**
 * Word out (issue 15, item 6): every version as a .docx, and every comparison as a .docx whose
 * changes are Word revisions (`w:ins`/`w:del` by "Ratify", dated at the later version's
 * publication); links on the version and compare pages; content type and file name. Reading
 * the files back: mammoth (the project's own Word reader) must find the version's text, and
 * the comparison with its changes accepted must read as the later version. LibreOffice opening
 * both is test/http/wordOutLibreOffice.system.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { addDocument } from '../../server/services/addDocument.js';
import { publishVersion } from '../../server/services/publishVersion.js';
import { DEFAULT_RENDER } from '../../server/http/render/renderer.js';
import { docxToMarkdown } from '../../server/util/wordIn.js';
import { testClock } from '../helpers/data.js';
import { zipEntry } from '../helpers/zip.js';
import { getBytes, openWordFixture, WORD_SLUG, type WordFixture } from '../helpers/wordFixture.js';

describe('http/wordOut', () => {
  const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
  const SLUG = WORD_SLUG;
  const clock = testClock('2026-03-01T09:00:00Z');
  let t: WordFixture;
  let v2: string;
  let v2At: string;

  const getFile = (url: string) => getBytes(t.app, url);

  const documentXml = (file: Buffer) => zipEntry(file, 'word/document.xml')?.toString('utf8') ?? '';
  /** The text of a document.xml's runs of one kind (`w:t` kept text, `w:delText` deleted text), joined. */
  const runsText = (xml: string, tag: 'w:t' | 'w:delText') =>
    [...xml.matchAll(new RegExp(`<${tag}(?: [^>]*)?>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]).join('');

  beforeAll(async () => {
    t = await openWordFixture(clock);
    ({ v2, v2At } = t);
  });

  afterAll(async () => {
    await t.cleanup();
  });

  describe('a version as a Word file', () => {
    test('GET /documents/:slug/versions/:n.docx is a .docx with the text, its headings, lists and bold', async () => {
      const res = await getFile(`/documents/${SLUG}/versions/2.docx`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(DOCX);
      expect(res.headers['content-disposition']).toBe(`attachment; filename="${SLUG}-v2.docx"`);
      expect(res.headers['cache-control']).toMatch(/immutable/);
      const file = res.body as Buffer;
      expect(file.subarray(0, 2).toString('latin1')).toBe('PK');
      const xml = documentXml(file);
      expect(xml).toContain('w:val="Heading1"');
      expect(xml).toContain('w:val="Heading2"');
      expect(xml).toContain('<w:numPr>'); // list items
      expect(xml).toMatch(/<w:b\/>.*?purely/s);
      expect(xml).not.toContain('<w:ins ');
      expect(xml).not.toContain('<w:del ');
      // Read back by the project's Word reader: the same text, structure and all.
      const back = await docxToMarkdown(file);
      expect(back).toContain('# Terms of Reference of the Multistakeholder Advisory Group\n');
      expect(back).toContain('## 1. Mandate and scope\n');
      expect(back).toContain('The Group is **purely** advisory in nature.');
      expect(back).toContain('- regional bodies;\n');
      // This text (headings, paragraphs, lists, bold) comes back exactly as it was published.
      expect(back).toBe(v2);
    });

    test('a longer text (written on a worker thread) comes back whole, numbered lists, quotes and code included', async () => {
      const section = (i: number) =>
        `## Part ${i}\n\nA paragraph of part ${i}, with *emphasis* and \`code\`.\n\n1. first of ${i}\n2. second of ${i}\n\n> Quoted in part ${i}.\n\n\`\`\`\nline one of ${i}\n\n  line three\n\`\`\`\n\n`;
      let text = '# A long text\n\n';
      // Just past the length written on the event loop, so the pool writes it.
      for (let i = 1; text.length <= DEFAULT_RENDER.inlineWordBytes + 1024; i++) text += section(i);
      await addDocument(t.ctx, CLI_ACTOR, {
        slug: 'long-text',
        title: 'A long text',
        group: 'mag',
        text,
        summary: 'Long',
      });
      const res = await getFile('/documents/long-text/versions/1.docx');
      expect(res.status).toBe(200);
      const back = await docxToMarkdown(res.body as Buffer);
      expect(back).toContain(
        '## Part 7\n\nA paragraph of part 7, with *emphasis* and `code`.\n\n1. first of 7\n2. second of 7\n\n',
      );
      expect(back).toContain('> Quoted in part 7.\n\n```\nline one of 7\n\n  line three\n```\n');
      expect(back.trimEnd()).toBe(text.trimEnd());
    });

    test('an unknown version is 404; a malformed one is refused', async () => {
      expect((await getFile(`/documents/${SLUG}/versions/9.docx`)).status).toBe(404);
      expect((await getFile(`/documents/no-such-doc/versions/1.docx`)).status).toBe(404);
      expect([400, 404]).toContain((await getFile(`/documents/${SLUG}/versions/0.docx`)).status);
    });

    test('the version page links its Word file', async () => {
      const page = await request(t.app).get(`/documents/${SLUG}/versions/1`);
      expect(page.text).toContain(`href="/documents/${SLUG}/versions/1.docx"`);
      const current = await request(t.app).get(`/documents/${SLUG}`);
      expect(current.text).toContain(`href="/documents/${SLUG}/versions/2.docx"`);
    });
  });

  describe('a comparison as a Word file with tracked changes', () => {
    test('GET /documents/:slug/compare.docx?from=&to= marks insertions and deletions as revisions by Ratify', async () => {
      const res = await getFile(`/documents/${SLUG}/compare.docx?from=1&to=2`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(DOCX);
      expect(res.headers['content-disposition']).toBe(`attachment; filename="${SLUG}-v1-to-v2.docx"`);
      const xml = documentXml(res.body as Buffer);
      const date = new Date(v2At).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const ins = [...xml.matchAll(/<w:ins ([^>]*)>(.*?)<\/w:ins>/gs)];
      const del = [...xml.matchAll(/<w:del ([^>]*)>(.*?)<\/w:del>/gs)];
      expect(ins.length).toBeGreaterThan(0);
      expect(del.length).toBeGreaterThan(0);
      for (const [, attrs] of [...ins, ...del]) {
        expect(attrs).toContain('w:author="Ratify"');
        expect(attrs).toContain(`w:date="${date}"`);
      }
      const inserted = ins.map((m) => runsText(m[2], 'w:t')).join('');
      const deleted = del.map((m) => runsText(m[2], 'w:delText')).join('');
      expect(inserted).toContain('and scope');
      expect(inserted).toContain('purely');
      expect(inserted).toContain('regional bodies');
      expect(deleted).toContain('does not negotiate texts');
      expect(deleted).not.toContain('purely');
      // The inserted list item is inserted whole, its paragraph mark too (so rejecting it leaves no empty item).
      expect(xml).toMatch(/<w:pPr>(?:(?!<\/w:pPr>).)*<w:rPr>(?:(?!<\/w:rPr>).)*<w:ins [^>]*w:author="Ratify"/s);
      // Further edits of the file are tracked too.
      expect(zipEntry(res.body as Buffer, 'word/settings.xml')?.toString('utf8')).toContain('<w:trackRevisions');
    });

    test('with its changes accepted it reads as the later version; the earlier version is left when compared the other way', async () => {
      const forward = (await getFile(`/documents/${SLUG}/compare.docx?from=1&to=2`)).body as Buffer;
      const later = (await getFile(`/documents/${SLUG}/versions/2.docx`)).body as Buffer;
      // mammoth keeps insertions and drops deletions: the changes accepted.
      expect(await docxToMarkdown(forward)).toBe(await docxToMarkdown(later));
      const backward = (await getFile(`/documents/${SLUG}/compare.docx?from=2&to=1`)).body as Buffer;
      const earlier = (await getFile(`/documents/${SLUG}/versions/1.docx`)).body as Buffer;
      expect(await docxToMarkdown(backward)).toBe(await docxToMarkdown(earlier));
      // Dated at the later version's publication whichever way round.
      expect(documentXml(backward)).toContain(`w:date="${new Date(v2At).toISOString().replace(/\.\d{3}Z$/, 'Z')}"`);
    });

    test('front matter and links come back too, from a version and from a comparison either way', async () => {
      const a =
        '---\ntitle: Rules\nstatus: draft\n---\n\n# Rules\n\nSee [the site](https://example.org/x), <https://example.org/auto> and <mailto:sec@example.org>.\n';
      const b = a
        .replace('status: draft', 'status: final')
        .replace('[the site](https://example.org/x)', '[our site](https://example.org/y)');
      await addDocument(t.ctx, CLI_ACTOR, { slug: 'linked', title: 'Rules', group: 'mag', text: a, summary: 'First' });
      clock.advance(60_000);
      await publishVersion(t.ctx, {
        slug: 'linked',
        title: 'Rules',
        group: 'mag',
        text: b,
        summary: 'Final',
        author: { name: 'Chris Chair', email: 'chair@example.org', at: clock() },
      });
      const read = async (url: string) => docxToMarkdown((await getFile(url)).body as Buffer);
      expect(await read('/documents/linked/versions/1.docx')).toBe(a);
      expect(await read('/documents/linked/compare.docx?from=1&to=2')).toBe(b);
      expect(await read('/documents/linked/compare.docx?from=2&to=1')).toBe(a);
      const xml = documentXml((await getFile('/documents/linked/versions/2.docx')).body as Buffer);
      expect(xml).toContain('<w:hyperlink');
    });

    test('bad or unknown versions are refused', async () => {
      expect((await getFile(`/documents/${SLUG}/compare.docx?from=1&to=7`)).status).toBe(404);
      expect((await getFile(`/documents/${SLUG}/compare.docx?from=x&to=2`)).status).toBe(400);
    });

    test('the compare page links the Word file of the same comparison', async () => {
      const page = await request(t.app).get(`/documents/${SLUG}/compare?from=1&to=2`);
      expect(page.text).toContain(`href="/documents/${SLUG}/compare.docx?from=1&amp;to=2"`);
    });
  });
});
