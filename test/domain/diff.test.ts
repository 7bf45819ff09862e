import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { coarseDiff, diffProse, foldParagraphs, sideBySide, tokenize, type Change } from '../../server/domain/diff.js';
import { runs } from '../helpers/depth.js';

describe('domain/diff', () => {
  const RUNS = runs(500);

  const side = (cs: Change[], skip: Change['op']) =>
    cs
      .filter((c) => c.op !== skip)
      .map((c) => c.text)
      .join('');

  /** The laws every diff must satisfy; returns the changes so callers can check more. */
  function checkLaws(from: string, to: string): Change[] {
    const cs = diffProse(from, to);
    expect(side(cs, 'insert')).toBe(from);
    expect(side(cs, 'delete')).toBe(to);
    // One expectation for all the changes (an expect call per change was most of this test's time).
    const broken = cs.flatMap((c, i) =>
      [
        c.text === '' && `${i}: empty`,
        // Inputs here are well-formed UTF-16: astral characters are never split across changes.
        (/^[\udc00-\udfff]/.test(c.text) || /[\ud800-\udbff]$/.test(c.text)) && `${i}: splits a surrogate pair`,
        i > 0 && c.op === cs[i - 1].op && `${i}: the same operation as the change before`,
        // Inside a changed stretch the delete comes first.
        i > 0 && cs[i - 1].op === 'insert' && c.op === 'delete' && `${i}: a delete after an insert`,
      ].filter((x): x is string => typeof x === 'string'),
    );
    expect(broken).toEqual([]);
    if (from === to) expect(cs).toEqual(from ? [{ op: 'equal', text: from }] : []);
    return cs;
  }

  /** Concatenates neighbouring same-op parts, to compare split lists with the original. */
  function merged(parts: Change[]): Change[] {
    const out: Change[] = [];
    for (const p of parts) {
      const last = out[out.length - 1];
      if (last && last.op === p.op) last.text += p.text;
      else out.push({ ...p });
    }
    return out;
  }

  function checkBlocks(cs: Change[]): void {
    const blocks = foldParagraphs(cs);
    expect(merged(blocks.flatMap((b) => b.parts))).toEqual(cs);
    blocks.forEach((b, i) => {
      expect(b.parts.length).toBeGreaterThan(0);
      b.parts.forEach((p) => expect(p.text).not.toBe(''));
      if (b.kind === 'changed') expect(b.parts.some((p) => p.op !== 'equal')).toBe(true);
      else {
        expect(b.parts.every((p) => p.op === 'equal')).toBe(true);
        expect(b.paragraphs).toBeGreaterThanOrEqual(1);
        if (i > 0) expect(blocks[i - 1].kind).toBe('changed');
      }
    });
    const rows = sideBySide(cs);
    const paragraphCount = blocks.reduce((n, b) => n + (b.kind === 'unchanged' ? b.paragraphs : 1), 0);
    expect(rows.length).toBe(paragraphCount);
    expect(rows.flatMap((r) => r.left).every((p) => p.op !== 'insert')).toBe(true);
    expect(rows.flatMap((r) => r.right).every((p) => p.op !== 'delete')).toBe(true);
    expect(
      rows
        .flatMap((r) => r.left)
        .map((p) => p.text)
        .join(''),
    ).toBe(side(cs, 'insert'));
    expect(
      rows
        .flatMap((r) => r.right)
        .map((p) => p.text)
        .join(''),
    ).toBe(side(cs, 'delete'));
  }

  const tricky = fc.constantFrom(
    'a',
    'b',
    'ab',
    ' ',
    '  ',
    '\t',
    '\n',
    '\n\n',
    '\r\n',
    '\r',
    '.',
    ',',
    '😀',
    'é',
    'e\u0301',
    '\u00a0',
  );
  const trickyString = fc.string({ unit: tricky, maxLength: 40 });
  const WORDS = [
    'the',
    'committee',
    'shall',
    'meet',
    'under',
    'Chatham',
    'House',
    'Rule',
    'members',
    'vote',
    '—',
    'naïve',
    '𝒳',
    '.',
    ',',
  ];
  const token = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...WORDS) },
    { weight: 6, arbitrary: fc.constantFrom(' ', ' ', '  ') },
    { weight: 2, arbitrary: fc.constantFrom('\n', '\r\n') },
    { weight: 1, arbitrary: fc.constantFrom('\n\n', '\r\n\r\n', '\n \n') },
  );
  const prose = fc.array(token, { maxLength: 120 }).map((ts) => ts.join(''));

  /** A small edit: insert, delete or replace a word or a whole line, a few times. */
  const mutated = fc
    .tuple(
      fc.array(token, { maxLength: 150 }),
      fc.array(fc.tuple(fc.constantFrom('insert', 'delete', 'replace', 'dupLine', 'dropLine'), fc.nat(), token), {
        minLength: 1,
        maxLength: 4,
      }),
    )
    .map(([tokens, edits]) => {
      const out = [...tokens];
      for (const [kind, at, tok] of edits) {
        const i = out.length ? at % out.length : 0;
        if (kind === 'insert') out.splice(i, 0, tok);
        else if (kind === 'delete') out.splice(i, 1);
        else if (kind === 'replace') out.splice(i, 1, tok);
        else {
          const nl = out.indexOf('\n', i);
          const line = out.slice(i, nl < 0 ? out.length : nl + 1);
          out.splice(i, kind === 'dropLine' ? line.length : 0, ...(kind === 'dupLine' ? line : []));
        }
      }
      return [tokens.join(''), out.join('')] as const;
    });

  describe('diffProse laws', () => {
    test('arbitrary code-point strings', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
          checkLaws(a, b);
        }),
        RUNS,
      );
    });

    test('arbitrary grapheme strings', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
          checkLaws(a, b);
        }),
        RUNS,
      );
    });

    test('strings over a small tricky alphabet (CR, LF, spaces, astral, combining)', () => {
      fc.assert(
        fc.property(trickyString, trickyString, (a, b) => {
          checkBlocks(checkLaws(a, b));
        }),
        RUNS,
      );
    });

    test('prose-like strings', () => {
      fc.assert(
        fc.property(prose, prose, (a, b) => {
          checkBlocks(checkLaws(a, b));
        }),
        RUNS,
      );
    });

    test('small mutations of prose', () => {
      fc.assert(
        fc.property(mutated, ([a, b]) => {
          checkBlocks(checkLaws(a, b));
        }),
        RUNS,
      );
    });

    test('identity gives one equal change', () => {
      fc.assert(
        fc.property(prose, (a) => {
          expect(diffProse(a, a)).toEqual(a ? [{ op: 'equal', text: a }] : []);
        }),
        RUNS,
      );
    });
  });

  describe('diffProse examples', () => {
    test('empty inputs', () => {
      expect(diffProse('', '')).toEqual([]);
      expect(diffProse('', 'new text\n')).toEqual([{ op: 'insert', text: 'new text\n' }]);
      expect(diffProse('old text', '')).toEqual([{ op: 'delete', text: 'old text' }]);
    });

    test('identical input', () => {
      expect(diffProse('Same.\r\n\r\nText ', 'Same.\r\n\r\nText ')).toEqual([
        { op: 'equal', text: 'Same.\r\n\r\nText ' },
      ]);
    });

    test('word replacement inside a sentence', () => {
      const cs = diffProse(
        'Meetings are held under the Chatham House Rule. Members attend.',
        'Meetings are held openly. Members attend.',
      );
      expect(cs[0]).toEqual({ op: 'equal', text: 'Meetings are held ' });
      expect(cs[1].op).toBe('delete');
      expect(cs[1].text).toContain('under the Chatham House Rule');
      expect(cs[2].op).toBe('insert');
      expect(cs[2].text).toContain('openly');
      expect(cs[cs.length - 1]).toEqual({ op: 'equal', text: '. Members attend.' });
      expect(cs).toHaveLength(4);
    });

    test('CRLF text keeps its line endings', () => {
      const cs = checkLaws('One line.\r\nTwo lines.\r\n', 'One line.\r\nTwo short lines.\r\n');
      expect(cs).toEqual([
        { op: 'equal', text: 'One line.\r\nTwo ' },
        { op: 'insert', text: 'short ' },
        { op: 'equal', text: 'lines.\r\n' },
      ]);
    });

    test('trailing whitespace and missing final newline', () => {
      checkLaws('end  ', 'end');
      checkLaws('a\nb', 'a\nb\n');
      checkLaws('no newline at all', 'no newlines at all here');
    });

    test('spaces between changes join the replacement, but not before the first change', () => {
      expect(diffProse('under the rule', 'over a rule')).toEqual([
        { op: 'delete', text: 'under the' },
        { op: 'insert', text: 'over a' },
        { op: 'equal', text: ' rule' },
      ]);
      expect(diffProse(' a', ' b')).toEqual([
        { op: 'equal', text: ' ' },
        { op: 'delete', text: 'a' },
        { op: 'insert', text: 'b' },
      ]);
    });

    test('a removed paragraph is aligned on blank lines', () => {
      expect(diffProse('P1\n\nP2\n\nP3\n', 'P1\n\nP3\n')).toEqual([
        { op: 'equal', text: 'P1\n\n' },
        { op: 'delete', text: 'P2\n\n' },
        { op: 'equal', text: 'P3\n' },
      ]);
    });
  });

  describe('foldParagraphs and sideBySide', () => {
    test('folds runs of unchanged paragraphs and counts them', () => {
      const from = 'A one.\n\nB two.\n\nC three.\n\nD four.\n\nE five.\n';
      const to = 'A one.\n\nB two.\n\nC 3.\n\nD four.\n\nE five.\n';
      const blocks = foldParagraphs(diffProse(from, to));
      expect(blocks.map((b) => (b.kind === 'unchanged' ? b.paragraphs : 'changed'))).toEqual([2, 'changed', 2]);
      expect(blocks[1].parts).toEqual([
        { op: 'equal', text: 'C ' },
        { op: 'delete', text: 'three' },
        { op: 'insert', text: '3' },
        { op: 'equal', text: '.\n\n' },
      ]);
    });

    test('a deleted paragraph is its own changed block', () => {
      const blocks = foldParagraphs(diffProse('P1\n\nP2\n\nP3\n\nP4\n', 'P1\n\nP3\n\nP4\n'));
      expect(blocks).toEqual([
        { kind: 'unchanged', parts: [{ op: 'equal', text: 'P1\n\n' }], paragraphs: 1 },
        { kind: 'changed', parts: [{ op: 'delete', text: 'P2\n\n' }] },
        { kind: 'unchanged', parts: [{ op: 'equal', text: 'P3\n\nP4\n' }], paragraphs: 2 },
      ]);
    });

    test('identical text is one unchanged block; empty is none', () => {
      const text = 'p1\n\np2\n\n\np3';
      expect(foldParagraphs(diffProse(text, text))).toEqual([
        { kind: 'unchanged', parts: [{ op: 'equal', text }], paragraphs: 3 },
      ]);
      expect(foldParagraphs([])).toEqual([]);
      expect(sideBySide([])).toEqual([]);
    });

    test('side by side pairs each paragraph', () => {
      const rows = sideBySide(diffProse('Keep.\n\nOld words here.\n', 'Keep.\n\nNew words here.\n'));
      expect(rows).toEqual([
        { left: [{ op: 'equal', text: 'Keep.\n\n' }], right: [{ op: 'equal', text: 'Keep.\n\n' }] },
        {
          left: [
            { op: 'delete', text: 'Old' },
            { op: 'equal', text: ' words here.\n' },
          ],
          right: [
            { op: 'insert', text: 'New' },
            { op: 'equal', text: ' words here.\n' },
          ],
        },
      ]);
    });
  });

  describe('tokenize', () => {
    // The grammar it scans by hand for speed: a word (letters, marks, digits, _), a whitespace run, or one code point.
    const byExpression = (s: string) => s.match(/[\p{L}\p{M}\p{N}_]+|\s+|[\s\S]/gu) ?? [];
    const unit = fc.oneof(
      fc.constantFrom('a', 'Z', '0', '_', ' ', '\t', '\n', '\r', '\v', '\f', '.', '-', '\u00a0', '\u2028', '\ufeff'),
      fc.constantFrom('é', '\u0301', 'ß', '٣', '𝒳', '😀', '\ud800', '\udc00', '\u3000', '中', 'ª'),
    );

    test('the same tokens as the expression, on any code points and on mixes of ASCII and not', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), (s) => {
          expect(tokenize(s)).toEqual(byExpression(s));
        }),
        RUNS,
      );
      fc.assert(
        fc.property(fc.string({ unit, maxLength: 60 }), (s) => {
          expect(tokenize(s)).toEqual(byExpression(s));
        }),
        RUNS,
      );
    });

    test('examples: a word runs on through non-ASCII letters and marks, a space run through non-ASCII spaces', () => {
      expect(tokenize('cafe\u0301 au\u00a0 lait')).toEqual(['cafe\u0301', ' ', 'au', '\u00a0 ', 'lait']);
      expect(tokenize('naïve_3x—ok')).toEqual(['naïve_3x', '—', 'ok']);
      expect(tokenize('a😀\ud800b')).toEqual(['a', '😀', '\ud800', 'b']);
      expect(tokenize('')).toEqual([]);
    });
  });

  describe('large inputs', () => {
    /** Deterministic random-word text (LCG), roughly `size` characters long. */
    function randomText(size: number, seed: number): string {
      let s = seed;
      const next = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
      const words = ['alpha', 'beta', 'gamma', 'delta', 'motion', 'vote', 'quorum', 'chair', 'the', 'of', 'and', 'a'];
      const parts: string[] = [];
      let n = 0;
      while (n < size) {
        const w = words[Math.floor(next() * words.length)];
        const r = next();
        const sep = r < 0.02 ? '\n\n' : r < 0.1 ? '\n' : ' ';
        parts.push(w, sep);
        n += w.length + sep.length;
      }
      return parts.join('');
    }

    test('two unrelated ~100 KB texts still satisfy the law', () => {
      const a = randomText(100_000, 1),
        b = randomText(100_000, 2);
      checkBlocks(checkLaws(a, b));
    });

    test('when every line changed (CRLF to LF), lines are paired up instead of one big replace', () => {
      const a = randomText(60_000, 4).replace(/\n/g, '\r\n');
      const cs = checkLaws(a, a.replace(/\r\n/g, '\n'));
      const changed = cs.filter((c) => c.op !== 'equal');
      expect(changed.length).toBeGreaterThan(100);
      // Blank lines merge with the line before: "\r\n\r\n" → "\n\n".
      expect(changed.every((c) => (c.op === 'delete' ? /^(\r\n)+$/ : /^\n+$/).test(c.text))).toBe(true);
    });

    test('a small edit to a ~100 KB text stays small', () => {
      const a = randomText(100_000, 3);
      const at = a.indexOf(' ', 50_000);
      const b = a.slice(0, at) + ' inserted words' + a.slice(at);
      const cs = checkLaws(a, b);
      expect(cs.filter((c) => c.op !== 'equal')).toEqual([
        { op: 'insert', text: expect.stringContaining('inserted words') },
      ]);
    });
  });

  describe('coarseDiff (the answer when a diff runs out of time)', () => {
    const side = (cs: Change[], skip: Change['op']) =>
      cs
        .filter((c) => c.op !== skip)
        .map((c) => c.text)
        .join('');
    test('keeps the diff law: equal+delete is the old text, equal+insert the new', () => {
      fc.assert(
        fc.property(
          fc.string({ unit: fc.constantFrom('a', 'b', '\n', ' ', 'é') }),
          fc.string({ unit: fc.constantFrom('a', 'b', '\n', ' ', 'é') }),
          (a, b) => {
            const cs = coarseDiff(a, b);
            expect(side(cs, 'insert')).toBe(a);
            expect(side(cs, 'delete')).toBe(b);
            expect(cs.every((c) => c.text !== '')).toBe(true);
          },
        ),
      );
    });
    test('keeps whole common lines at both ends and changes only the middle', () => {
      expect(coarseDiff('one\ntwo\nthree\n', 'one\nTWO\nthree\n')).toEqual([
        { op: 'equal', text: 'one\n' },
        { op: 'delete', text: 'two\n' },
        { op: 'insert', text: 'TWO\n' },
        { op: 'equal', text: 'three\n' },
      ]);
    });
  });
});
