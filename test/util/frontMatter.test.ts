import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { frontMatter, parseEntries } from '../../server/util/frontMatter.js';
import { runs } from '../helpers/depth.js';

describe('util/frontMatter', () => {
  const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,15}$/);
  /** A value as simple front matter writes it: one line, no surrounding space, not quoted. */
  const value = fc
    .string({ maxLength: 40 })
    .map((s) => s.replace(/[\r\n]/g, ' ').trim())
    .filter((s) => !/^["']/.test(s));

  describe('frontMatter', () => {
    test('reads an EIP preamble', () => {
      const text = '---\neip: 1\ntitle: "EIP Purpose"\nauthor: A <a@x>, B\n---\n\n## What\n';
      const fm = frontMatter(text)!;
      expect(fm.entries).toEqual([
        ['eip', '1'],
        ['title', 'EIP Purpose'],
        ['author', 'A <a@x>, B'],
      ]);
      expect(text.slice(fm.end)).toBe('\n## What\n');
    });

    test('no front matter: no leading fence, or a fence never closed', () => {
      expect(frontMatter('# Title\n\n---\na: b\n---\n')).toBeNull();
      expect(frontMatter('---\na: b\n\nText without a closing fence.\n')).toBeNull();
      expect(frontMatter('--- \n')).toBeNull();
    });

    test('a block that is more than key: value lines is kept raw (entries null)', () => {
      for (const raw of ['authors:\n  - A\n  - B', 'just text', 'http://x: y', ': empty key', 'a:b'])
        expect(frontMatter(`---\n${raw}\n---\nbody`)?.entries).toBeNull();
      expect(frontMatter('---\nlist:\n- a\n---\n')!.raw).toBe('list:\n- a');
    });

    test('never throws, and what it finds lies inside the text', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 400 }), fc.boolean(), (s, fenced) => {
          const text = fenced ? `---\n${s}` : s;
          const fm = frontMatter(text);
          if (fm) {
            expect(fm.end).toBeLessThanOrEqual(text.length);
            expect(text).toContain(fm.raw);
          }
        }),
        runs(500),
      );
    });

    test('round-trips simple maps', () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(key, value), { maxLength: 12 }), (pairs) => {
          const raw = pairs.map(([k, v]) => `${k}: ${v}`.trimEnd()).join('\n');
          const fm = frontMatter(`---\n${raw}\n---\nBody.\n`);
          expect(fm).not.toBeNull();
          expect(fm!.entries).toEqual(pairs);
          expect(parseEntries(raw)).toEqual(pairs);
        }),
        runs(300),
      );
    });
  });
});
