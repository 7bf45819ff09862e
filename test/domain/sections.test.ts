/**
 * A text's sections (issue 15, "edit a section"): headings read from the source, anchors as the
 * document page shows them (duplicates get -1, -2), a section holding its sub-sections, and the
 * splice — as laws over generated texts (split then splice back unchanged is the identity;
 * splicing a section changes nothing outside it) and as the refusals a bad section gets.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { DomainError } from '../../server/domain/errors.js';
import { findSection, headingsOf, sectionsOf, sectionText, spliceSection } from '../../server/domain/sections.js';
import { runs } from '../helpers/depth.js';

describe('domain/sections', () => {
  const codeOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof DomainError ? e.code : String(e);
    }
    return null;
  };

  const TEXT = `# Terms

Intro.

## Scope

The scope.

### Detail

Detail of scope.

## Members

Who.

## Scope

Another scope.

\`\`\`
## not a heading
\`\`\`

Underlined
----------

Last words.
`;

  describe('headings and sections', () => {
    test('anchors are slugs of the words, duplicates numbered, code and underlines understood', () => {
      const hs = headingsOf(TEXT);
      expect(hs.map((h) => [h.id, h.level])).toEqual([
        ['terms', 1],
        ['scope', 2],
        ['detail', 3],
        ['members', 2],
        ['scope-1', 2],
        ['underlined', 2],
      ]);
      expect(hs.map((h) => TEXT.slice(h.start).split('\n')[0])).toEqual([
        '# Terms',
        '## Scope',
        '### Detail',
        '## Members',
        '## Scope',
        'Underlined',
      ]);
      expect(hs.map((h) => h.line)).toEqual([0, 4, 8, 12, 16, 24]);
    });

    test('a heading’s words are what a reader sees: marks, links and closing #s left out', () => {
      const hs = headingsOf('## The **new** [rule](https://example.org) ##\n\n## `code` &amp; more\n\n## 1. Mandate\n');
      expect(hs.map((h) => [h.words, h.id])).toEqual([
        ['The new rule', 'the-new-rule'],
        ['code & more', 'code-more'],
        ['1. Mandate', '1-mandate'],
      ]);
    });

    test('a section runs to the next heading of its level or higher, sub-sections included', () => {
      const scope = findSection(TEXT, 'scope')!;
      expect(sectionText(TEXT, scope)).toBe('## Scope\n\nThe scope.\n\n### Detail\n\nDetail of scope.\n');
      expect(sectionText(TEXT, findSection(TEXT, 'detail')!)).toBe('### Detail\n\nDetail of scope.\n');
      expect(findSection(TEXT, 'terms')!.end).toBe(TEXT.length);
      expect(findSection(TEXT, 'nothing')).toBeNull();
    });

    test('front matter is not read for headings, and lines are counted from the top', () => {
      const text = '---\ntitle: x\n---\n## One\n\nText.\n';
      const hs = headingsOf(text, '---\ntitle: x\n---\n'.length);
      expect(hs.map((h) => [h.id, h.line])).toEqual([['one', 3]]);
    });

    test('lines that begin with a letter are read as the others: underlines, carriage returns, indents', () => {
      const t =
        'Intro\r\n===\r\n\n   Indented title\n   ---\n\n    code line\n\n \tTab after a space\n---\n\nLazy\n    ## not a heading\n';
      expect(headingsOf(t).map((h) => [h.words, h.level, h.line])).toEqual([
        ['Intro', 1, 0],
        ['Indented title', 2, 3],
        ['Tab after a space', 2, 8],
      ]);
    });

    test('headings in lists and quotes are not sections; a list line under a paragraph is no underline', () => {
      expect(headingsOf('- item\n---\n\n> ## quoted\n\n    ## code\n').map((h) => h.id)).toEqual([]);
    });
  });

  describe('splicing a section', () => {
    test('the section is replaced, its sub-section with it, the rest as it was', () => {
      const next = spliceSection(TEXT, 'scope', '## Scope\n\nA new scope.\n');
      expect(next).toBe(TEXT.replace('The scope.\n\n### Detail\n\nDetail of scope.\n', 'A new scope.\n'));
      // The second "Scope" is the one with -1.
      const second = spliceSection(TEXT, 'scope-1', '## Scope\n\nChanged.\n\n```\n## not a heading\n```\n');
      expect(second).toBe(TEXT.replace('Another scope.', 'Changed.'));
    });

    test('blank lines around the replacement do not change the spacing between sections', () => {
      expect(spliceSection(TEXT, 'members', '\n\n## Members\n\nWho else.\n\n\n\n')).toBe(
        TEXT.replace('Who.', 'Who else.'),
      );
      expect(spliceSection(TEXT, 'members', '## Members\n\nWho else.')).toBe(TEXT.replace('Who.', 'Who else.'));
    });

    test('refusals: unknown anchor, heading level changed or missing, a heading as high as its own, an open fence', () => {
      expect(codeOf(() => spliceSection(TEXT, 'nope', '## Nope\n'))).toBe('section_not_found');
      expect(codeOf(() => spliceSection(TEXT, 'members', '### Members\n\nWho.\n'))).toBe('section_heading');
      expect(codeOf(() => spliceSection(TEXT, 'members', '# Members\n\nWho.\n'))).toBe('section_heading');
      expect(codeOf(() => spliceSection(TEXT, 'members', 'Who.\n'))).toBe('section_heading');
      expect(codeOf(() => spliceSection(TEXT, 'members', ''))).toBe('section_heading');
      expect(codeOf(() => spliceSection(TEXT, 'members', '## Members\n\nWho.\n\n## Guests\n\nThem.\n'))).toBe(
        'section_outline',
      );
      expect(codeOf(() => spliceSection(TEXT, 'detail', '### Detail\n\n# Top\n'))).toBe('section_outline');
      expect(codeOf(() => spliceSection(TEXT, 'members', '## Members\n\n```\nopen code\n'))).toBe('section_spills');
      // A heading may be renamed, and lower headings may be added.
      expect(spliceSection(TEXT, 'members', '## Membership\n\n### New\n\nWho.\n')).toContain(
        '## Membership\n\n### New',
      );
    });
  });

  // ── Laws over generated texts ───────────────────────────────────────────────
  const word = fc.constantFrom('scope', 'members', 'Chair', 'vote', 'the', 'rule', 'É', '1.', '**bold**', '`x`');
  const words = fc.array(word, { minLength: 1, maxLength: 4 }).map((w) => w.join(' '));
  const heading = fc
    .tuple(fc.integer({ min: 1, max: 4 }), words, fc.boolean())
    .map(([level, w, closing]) => `${'#'.repeat(level)} ${w}${closing ? ' #' : ''}`);
  const block = fc.oneof(
    words,
    words.map((w) => `- ${w}\n- ${w}`),
    words.map((w) => `> ${w}`),
    words.map((w) => `\`\`\`\n## ${w}\n\`\`\``),
    words.map((w) => `${w}\n---`),
    heading,
    fc.constant('---'),
  );
  const text = fc
    .tuple(fc.array(block, { maxLength: 14 }), fc.constantFrom('\n', '\n\n', '\n\n\n'), fc.boolean())
    .map(([blocks, gap, last]) => blocks.join(gap) + (last ? '\n' : ''));

  describe('laws', () => {
    test('a section ends at the first later heading of its level or higher, else at the end', () => {
      fc.assert(
        fc.property(text, (t) => {
          const hs = headingsOf(t);
          sectionsOf(t).forEach((s, i) => {
            const next = hs.slice(i + 1).find((h) => h.level <= s.level);
            expect([s.id, s.end]).toEqual([hs[i].id, next ? next.start : t.length]);
          });
        }),
        runs(300),
      );
    });

    test('splitting then splicing a section back unchanged gives the text it came from', () => {
      fc.assert(
        fc.property(text, (t) => {
          for (const s of sectionsOf(t)) {
            expect(spliceSection(t, s.id, sectionText(t, s))).toBe(t);
            expect(spliceSection(t, s.id, t.slice(s.start, s.end))).toBe(t);
          }
        }),
        runs(300),
      );
    });

    test('splicing a section changes nothing outside it, and the new section reads back', () => {
      const body = fc.array(
        fc.oneof(
          words,
          words.map((w) => `- ${w}`),
        ),
        { maxLength: 4 },
      );
      fc.assert(
        fc.property(text, fc.nat(), body, fc.integer({ min: 0, max: 2 }), (t, pick, lines, deeper) => {
          const all = sectionsOf(t);
          fc.pre(all.length > 0);
          const s = all[pick % all.length];
          const sub = s.level + deeper < 7 && deeper ? `\n\n${'#'.repeat(s.level + deeper)} sub part` : '';
          const replacement = `${'#'.repeat(s.level)} renamed heading${sub}\n\n${lines.join('\n\n')}\n`;
          const next = spliceSection(t, s.id, replacement);
          const after = t.length - s.end;
          expect(next.slice(0, s.start)).toBe(t.slice(0, s.start));
          expect(next.slice(next.length - after)).toBe(t.slice(s.end));
          const moved = sectionsOf(next).find((x) => x.start === s.start)!;
          expect(moved.words).toBe('renamed heading');
          expect(next.slice(moved.start, moved.end).trimEnd()).toBe(replacement.trimEnd());
        }),
        runs(300),
      );
    });
  });
});
