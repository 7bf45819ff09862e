import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { diffProse } from '../../server/domain/diff.js';
import { changedPassages, clip, DIFF_LINES, quoted } from '../../server/domain/mailParts.js';
import { runs } from '../helpers/depth.js';

describe('domain/mailParts', () => {
  const LINK = 'https://ratify.test/proposals/1?tab=changes';
  const passages = (from: string, to: string) => changedPassages(diffProse(from, to), 'What it changes:', LINK);
  /** Lines as a client wrapping at 78 columns shows them. */
  const shown = (text: string) => text.split('\n').reduce((n, l) => n + Math.max(1, Math.ceil(l.length / 78)), 0);
  /** The diff lines of a part's text: after the intro, before "…and more". */
  const diffOf = (text: string) => text.slice(text.indexOf('\n\n') + 2).split('\n\n…and more')[0];

  describe('changedPassages', () => {
    test('nothing changed: no part', () => {
      expect(passages('A.\n\nB.\n', 'A.\n\nB.\n')).toBeNull();
    });

    test('only the changed paragraphs, with the unchanged text near the change', () => {
      const from = 'First paragraph.\n\nThe Group meets twice a year.\n\nLast paragraph.\n';
      const part = passages(from, from.replace('twice', 'three times'))!;
      expect(typeof part).toBe('object');
      const { text, html } = part as { text: string; html: string };
      expect(text).toBe('What it changes:\n\nThe Group meets [-twice-]{+three times+} a year.');
      expect(html).toContain('The Group meets <del');
      expect(html).toMatch(/>twice<\/del><ins[^>]*>three times<\/ins> a year\./);
    });

    test('what members wrote is escaped in HTML', () => {
      const { html } = passages('a\n', 'a <script>x</script> & b\n') as { html: string };
      expect(html).not.toContain('<script>');
      expect(html).toContain('&lt;script&gt;x&lt;/script&gt; &amp; b');
    });

    test('one huge paragraph is cut to fit, marked "…", then the link', () => {
      const { text } = passages('Start.\n', `Start. ${'word '.repeat(5000)}\n`) as { text: string };
      expect(shown(diffOf(text))).toBeLessThanOrEqual(DIFF_LINES);
      expect(text).toMatch(/…\+\}\n\n…and more: https:\/\/ratify\.test\/proposals\/1\?tab=changes$/);
    });

    test('a long unchanged stretch between two changes keeps only its ends', () => {
      const middle = 'lorem ipsum '.repeat(50);
      const { text } = passages(`a ${middle} b\n`, `A ${middle} B\n`) as { text: string };
      expect(text).toContain('[-a-]{+A+} lorem ipsum');
      expect(text).toContain(' … ');
      expect(text.length).toBeLessThan(300);
    });

    test('whatever the texts, the passages fit in 40 lines', () => {
      const para = fc.stringMatching(/^[a-z ]{0,400}$/);
      const doc = fc.array(para, { minLength: 1, maxLength: 30 }).map((ps) => ps.join('\n\n'));
      fc.assert(
        fc.property(doc, doc, (from, to) => {
          const part = passages(from, to);
          if (part === null) return;
          const { text } = part as { text: string };
          expect(shown(diffOf(text))).toBeLessThanOrEqual(DIFF_LINES);
        }),
        runs(200),
      );
    });
  });

  describe('quotes and clipping', () => {
    test('quoted lines in text, a blockquote in HTML', () => {
      expect(quoted('In reply to Mia:', { text: 'One\n\nTwo', html: '<p>One</p><p>Two</p>' })).toEqual({
        text: 'In reply to Mia:\n> One\n>\n> Two',
        html: expect.stringMatching(/^<p>In reply to Mia:<\/p><blockquote[^>]*><p>One<\/p><p>Two<\/p><\/blockquote>$/),
      });
    });

    test('clipping never splits a surrogate pair', () => {
      const s = `${'a'.repeat(1999)}😀tail`;
      expect(clip(s)).toBe(`${'a'.repeat(1999)}…`);
      expect(clip('short')).toBe('short');
    });
  });
});
