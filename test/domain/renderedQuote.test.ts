/**
 * Quotes copied from the rendered page (issue 14, "select to comment"): `projectMarkdown` is the
 * text a reader sees of a markdown source, with where each character was written, and
 * `locatePassage` finds a quote of either the source or that text, and gives the source passage.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { locatePassage, normalizeSpace, projectMarkdown, shownSpan, shownWithin } from '../../server/domain/anchor.js';
import { renderMarkdown } from '../../server/util/markdown.js';
import { runs } from '../helpers/depth.js';

describe('domain/renderedQuote', () => {
  /** The text of rendered HTML as a browser's selection gives it, whitespace normalised. */
  const textOf = (html: string) =>
    normalizeSpace(
      html
        .replace(/<\/?(p|li|ul|ol|h[1-6]|blockquote|pre|table|tr|td|th|hr|br)\b[^>]*>/g, ' ')
        .replace(/<[^>]*>/g, '')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, '&'),
    );

  const SRC = [
    '# Terms of *Reference* #',
    '',
    'The group **meets monthly** and follows [the charter](https://example.org/a_(b)) in full.',
    '',
    '- one *item*',
    '- two `co*de` items',
    '',
    '1. snake_case and 2 * 3 \\* stars &amp; more',
    '',
    '```',
    'kept **as** is',
    '```',
  ].join('\n');

  describe('projectMarkdown', () => {
    test('drops marks, link syntax, list markers, heading #s, backticks, escapes and fences', () => {
      expect(normalizeSpace(projectMarkdown(SRC).text)).toBe(
        'Terms of Reference The group meets monthly and follows the charter in full. one item two co*de items snake_case and 2 * 3 * stars & more kept **as** is',
      );
    });

    test('is what the renderer shows', () => {
      expect(normalizeSpace(projectMarkdown(SRC).text)).toBe(textOf(renderMarkdown(SRC)));
    });

    test('each shown character points at where it was written', () => {
      const p = projectMarkdown(SRC);
      for (let i = 0; i < p.text.length; i++) {
        const written = SRC.slice(p.from[i], p.to[i]);
        expect(written === p.text[i] || written === `\\${p.text[i]}` || written.startsWith('&')).toBe(true);
      }
    });
  });

  describe('locatePassage', () => {
    test('a quote of the source is found as before', () => {
      expect(locatePassage(SRC, '**meets monthly**')).toEqual({
        offset: SRC.indexOf('**meets'),
        quote: '**meets monthly**',
      });
    });

    test('a quote of the rendered text across bold and a link gives the source passage', () => {
      const found = locatePassage(SRC, 'The group meets monthly and follows the charter in full.');
      expect(found).toEqual({
        offset: SRC.indexOf('The group'),
        quote: 'The group **meets monthly** and follows [the charter](https://example.org/a_(b)) in full.',
      });
    });

    test('the passage takes the marks that open and close it', () => {
      expect(locatePassage(SRC, 'monthly and follows the charter')?.quote).toBe(
        'monthly** and follows [the charter](https://example.org/a_(b))',
      );
      expect(locatePassage(SRC, 'group meets')?.quote).toBe('group **meets');
    });

    test('whitespace and line breaks of a selection do not matter; list items join', () => {
      const found = locatePassage(SRC, '  one item\n\n two  co*de ');
      expect(found?.quote).toBe('one *item*\n- two `co*de`');
    });

    test('escapes and entities', () => {
      expect(locatePassage(SRC, '3 * stars & more')?.quote).toBe('3 \\* stars &amp; more');
    });

    test('the n-th occurrence, or null', () => {
      const src = 'A **b** c. A b c.';
      expect(locatePassage(src, 'A b c', 0)).toEqual({ offset: 0, quote: 'A **b** c' });
      expect(locatePassage(src, 'A b c', 1)?.offset).toBe(11);
      expect(locatePassage(src, 'A b c', 2)).toBeNull();
      expect(locatePassage(src, 'nothing like it')).toBeNull();
      expect(locatePassage(src, '   ')).toBeNull();
    });
  });

  /** Random markdown of words: paragraphs and list items with bold, emphasis, links and code. */
  const word = fc.constantFrom('the', 'group', 'meets', 'monthly', 'charter', 'vote', 'a', 'member', 'text', 'of');
  const words = fc.array(word, { minLength: 1, maxLength: 4 }).map((w) => w.join(' '));
  const span = fc.oneof(
    words,
    words.map((w) => `**${w}**`),
    words.map((w) => `*${w}*`),
    words.map((w) => `[${w}](https://example.org/${w.length})`),
    word.map((w) => `\`${w}\``),
  );
  const line = fc.array(span, { minLength: 1, maxLength: 5 }).map((s) => s.join(' '));
  const block = fc.oneof(
    line,
    fc.array(line, { minLength: 1, maxLength: 3 }).map((ls) => ls.map((l) => `- ${l}`).join('\n')),
    line.map((l) => `## ${l}`),
  );
  const markdown = fc.array(block, { minLength: 1, maxLength: 4 }).map((bs) => bs.join('\n\n'));

  describe('locatePassage properties', () => {
    test('any stretch of the shown text is found, at a source range that shows exactly it', () => {
      fc.assert(
        fc.property(markdown, fc.nat(), fc.nat(), (src, a, b) => {
          const shown = normalizeSpace(projectMarkdown(src).text);
          const from = a % shown.length;
          const q = shown.slice(from, from + 1 + (b % (shown.length - from))).trim();
          fc.pre(q.length > 0);
          const found = locatePassage(src, q);
          expect(found).not.toBeNull();
          expect(src.slice(found!.offset, found!.offset + found!.quote.length)).toBe(found!.quote);
          expect(shownWithin(src, found!.offset, found!.offset + found!.quote.length)).toBe(q);
        }),
        runs(500),
      );
    });

    test('the shown text is the rendered text', () => {
      fc.assert(
        fc.property(markdown, (src) => {
          expect(normalizeSpace(projectMarkdown(src).text)).toBe(textOf(renderMarkdown(src)));
        }),
        runs(300),
      );
    });

    test('shownSpan is the first and last shown characters of a range', () => {
      const src = 'x **bold** y';
      expect(shownSpan(projectMarkdown(src), 2, 10)).toEqual({ from: 4, to: 8 });
      expect(shownSpan(projectMarkdown(src), 2, 4)).toBeNull();
    });
  });

  test('a plain quote written so in the source is kept as sent', () => {
    expect(locatePassage('The group meets.', 'group meets')).toEqual({ offset: 4, quote: 'group meets' });
  });

  test('a text of a million unclosed brackets and backticks is projected in linear time', () => {
    const src = '[`(<'.repeat(250_000);
    const started = Date.now();
    expect(projectMarkdown(src).text.length).toBeGreaterThan(src.length / 2);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
