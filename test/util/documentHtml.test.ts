import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { slugOf } from '../../server/domain/sections.js';
import { headingIds, sectionsOfText } from '../../server/services/textSections.js';
import { MAX_NUMBERED, numberedSources, renderDocument as render } from '../../server/util/documentHtml.js';
import { runs } from '../helpers/depth.js';

describe('util/documentHtml', () => {
  /** A text's page HTML, its headings with the ids of their sections. */
  const renderDocument = (text: string, title: string) => render(text, title, headingIds(text));

  describe('renderDocument', () => {
    test('heading words that look like markup stay text, in the heading and in the contents', () => {
      const text = ['## <script>alert(1)</script>', '## "quoted" & <b>', '## p-1', '## Decision', ''].join('\n\n');
      const h = renderDocument(text, 'T');
      expect(h).not.toMatch(/<script|<b>/);
      expect(h).toContain('<h2 id="script-alert-1-script">&lt;script&gt;alert(1)&lt;/script&gt;</h2>');
      // Never the id of a paragraph or of the page around the text.
      expect(h).toContain('<h2 id="p-1-1">p-1</h2>');
      expect(h).toContain('<h2 id="decision-1">Decision</h2>');
      expect(h).toContain('<a href="#quoted-b">"quoted" &amp; &lt;b&gt;</a>');
    });

    test('a leading heading that repeats the title is left out; another is kept under the h1', () => {
      expect(renderDocument('# Rules\n\nText.\n', 'rules')).not.toContain('Rules</h');
      expect(renderDocument('# Other\n\nText.\n', 'Rules')).toContain('<h2 id="other">Other</h2>');
    });

    test('an image is shown only from an http(s) address; otherwise its alt text', () => {
      const h = renderDocument('![a](/x.png) ![b](mailto:x@y.org) ![c](https://example.org/c.png) ![](../d.png)', 'T');
      expect(h.match(/<img [^>]*>/g)).toEqual(['<img src="https://example.org/c.png" alt="c" />']);
      expect(h).toContain('<span class="noimage">a</span> <span class="noimage">b</span>');
    });

    test('heading ids are the anchors of their sections, after front matter and with duplicates numbered', () => {
      const text = '---\ntitle: T\n---\n# Scope\n\nA.\n\n## Scope\n\nB.\n\n> ## quoted\n\nAims\n====\n';
      const h = renderDocument(text, 'Document');
      const ids = [...h.matchAll(/<h[2-6] id="([^"]*)"/g)].map((m) => m[1]);
      expect(ids).toEqual(sectionsOfText(text).map((s) => s.id));
      expect(ids).toEqual(['scope', 'scope-1', 'aims']);
      // A heading that is no section (in a quote) has no id.
      expect(h).toContain('<h3>quoted</h3>');
    });

    test('paragraph numbers are bounded', () => {
      const h = renderDocument('x\n\n'.repeat(MAX_NUMBERED + 50), 'T');
      expect(h.match(/class="para"/g)).toHaveLength(MAX_NUMBERED);
    });

    test('ids are unique and never empty, whatever the headings', () => {
      fc.assert(
        fc.property(fc.array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 12 }), (words) => {
          const h = renderDocument(words.map((w) => `## ${w.replace(/\n/g, ' ')}`).join('\n\n'), 'Title');
          const ids = [...h.matchAll(/ id="([^"]*)"/g)].map((m) => m[1]);
          expect(new Set(ids).size).toBe(ids.length);
          for (const id of ids) expect(id).toMatch(/^[\p{L}\p{N}-]+$/u);
        }),
        runs(200),
      );
      expect(slugOf('!!!')).toBe('section');
    });
  });

  describe('numberedSources', () => {
    const numbers = (html: string) => [...html.matchAll(/<div class="para" id="p-(\d+)">/g)].length;

    test('the blocks and their numbers are those renderDocument gives', () => {
      const text = [
        '---',
        'title: x',
        '---',
        '# Title',
        '',
        'One *para*',
        'on two lines.',
        '',
        '## Section',
        '',
        '- a',
        '',
        '- b',
        '',
        '> quoted',
        '',
        '```',
        'code',
        '```',
        '',
        '| a | b |',
        '|---|---|',
        '| 1 | 2 |',
        '',
        '---',
        '',
        'Last.',
      ].join('\n');
      const blocks = numberedSources(text);
      expect(blocks).toEqual([
        'One *para*\non two lines.',
        '- a\n\n- b',
        '> quoted',
        '```\ncode\n```',
        '| a | b |\n|---|---|\n| 1 | 2 |',
        'Last.',
      ]);
      expect(numbers(renderDocument(text, 'Title'))).toBe(blocks.length);
    });

    test('for any text, as many blocks as renderDocument numbers', () => {
      const line = fc.oneof(
        fc.constantFrom(
          '',
          '',
          '# H',
          '## H2',
          '- item',
          '1. item',
          '> q',
          '```',
          '---',
          '| a |',
          '|---|',
          '    code',
          '<div>',
          'text *em*',
        ),
        fc.string({ maxLength: 12 }),
      );
      fc.assert(
        fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
          const text = lines.join('\n');
          expect(numberedSources(text).length).toBe(numbers(renderDocument(text, 'T')));
        }),
        runs(300),
      );
    });
  });

  describe('code blocks', () => {
    test('a code block can be scrolled from the keyboard (focusable), in every rendering', async () => {
      const { renderMarkdown, sanitizeDocument } = await import('../../server/util/markdown.js');
      expect(renderMarkdown('    wide code\n')).toContain('<pre tabindex="0"><code>wide code');
      expect(renderMarkdown('```\nfenced\n```\n')).toContain('<pre tabindex="0"><code>fenced');
      // Whatever tabindex was given, a code block takes its place in the order of the page.
      expect(sanitizeDocument('<pre tabindex="-1">x</pre>')).toBe('<pre tabindex="0">x</pre>');
    });
  });
});
