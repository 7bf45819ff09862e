/**
 * Word precision against a reference model (issue 14 item 2): what `git diff --word-diff`
 * does, written the textbook way — lines matched by a longest common subsequence, then, in
 * each run of changed lines, whitespace-separated words matched the same way. On small texts
 * with small edits, `diffProse` must mark no more non-whitespace characters than the model
 * + 10% (test/domain/diffCorpus.system.test.ts holds the same bound against git itself on real
 * histories).
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { diffProse, type Change } from '../../server/domain/diff.js';
import { runs } from '../helpers/depth.js';

describe('domain/diffPrecision', () => {
  const nonWs = (s: string) => s.replace(/\s+/gu, '').length;
  const changed = (cs: Change[]) => cs.reduce((n, c) => n + (c.op === 'equal' ? 0 : nonWs(c.text)), 0);

  /** Index pairs of a longest common subsequence (textbook table, backtracked). */
  function lcs<T>(a: T[], b: T[]): [number, number][] {
    const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
    for (let i = a.length - 1; i >= 0; i--)
      for (let j = b.length - 1; j >= 0; j--)
        t[i][j] = a[i] === b[j] ? t[i + 1][j + 1] + 1 : Math.max(t[i + 1][j], t[i][j + 1]);
    const out: [number, number][] = [];
    for (let i = 0, j = 0; i < a.length && j < b.length; ) {
      if (a[i] === b[j]) out.push([i++, j++]);
      else if (t[i + 1][j] >= t[i][j + 1]) i++;
      else j++;
    }
    return out;
  }

  /** Non-whitespace characters the model marks as changed from `from` to `to`. */
  function modelChanged(from: string, to: string): number {
    const la = from.split('\n'),
      lb = to.split('\n');
    let n = 0,
      i = 0,
      j = 0;
    for (const [pi, pj] of [...lcs(la, lb), [la.length, lb.length]]) {
      const wa = la.slice(i, pi).join('\n').split(/\s+/u).filter(Boolean),
        wb = lb.slice(j, pj).join('\n').split(/\s+/u).filter(Boolean);
      const kept = lcs(wa, wb).reduce((s, [x]) => s + wa[x].length, 0);
      n += wa.join('').length + wb.join('').length - 2 * kept;
      i = pi + 1;
      j = pj + 1;
    }
    return n;
  }

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
    '**bold**',
    '[a link](x)',
    '—',
    '1.',
  ];
  const line = fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 12 }).map((ws) => ws.join(' '));
  const text = fc
    .array(fc.tuple(line, fc.constantFrom('\n', '\n', '\n\n')), { maxLength: 12 })
    .map((ls) => ls.map(([l, sep]) => l + sep).join(''));
  /** A text and the same text after a few word or line edits. */
  const edited = fc
    .tuple(
      text,
      fc.array(
        fc.tuple(fc.constantFrom('insert', 'delete', 'replace', 'newLine', 'dropLine', 'split'), fc.nat(), line),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
    )
    .map(([t, edits]) => {
      let out = t;
      for (const [kind, at, words] of edits) {
        const spaces = [...out.matchAll(/ |\n/g)].map((m) => m.index);
        const p = spaces.length ? spaces[at % spaces.length] : 0;
        const q = out.indexOf(' ', p + 1) < 0 ? out.length : out.indexOf(' ', p + 1);
        if (kind === 'insert') out = `${out.slice(0, p)} ${words}${out.slice(p)}`;
        else if (kind === 'delete') out = out.slice(0, p) + out.slice(q);
        else if (kind === 'replace') out = `${out.slice(0, p)} ${words}${out.slice(q)}`;
        else if (kind === 'newLine') out = `${out.slice(0, p)}\n\n${words}\n\n${out.slice(p)}`;
        else if (kind === 'split') out = `${out.slice(0, p)}\n\n${out.slice(p + 1)}`;
        else {
          const s = out.lastIndexOf('\n', p - 1) + 1,
            e = out.indexOf('\n', p);
          out = out.slice(0, s) + (e < 0 ? '' : out.slice(e + 1));
        }
      }
      return [t, out] as const;
    });

  describe('diffProse is never coarser than a textbook git --word-diff', () => {
    test('small texts with a few edits: changed characters ≤ the model + 10%', () => {
      fc.assert(
        fc.property(edited, ([a, b]) => {
          expect(changed(diffProse(a, b))).toBeLessThanOrEqual(Math.floor(modelChanged(a, b) * 1.1));
        }),
        runs(1000),
      );
    });

    test('unrelated small texts: changed characters ≤ the model + 10%', () => {
      fc.assert(
        fc.property(text, text, (a, b) => {
          expect(changed(diffProse(a, b))).toBeLessThanOrEqual(Math.floor(modelChanged(a, b) * 1.1));
        }),
        runs(500),
      );
    });

    test('one word replaced by paragraphs marks the word, not its paragraph (EIP-1 86→87)', () => {
      const a =
        'Links to external resources **SHOULD NOT** be included. External resources may disappear.\n\n## Next\n';
      const added = Array.from(
        { length: 40 },
        (_, k) => `Paragraph ${k} about permitted resources and how to cite them.\n\n`,
      ).join('');
      const b = `Other than the exceptions below, links to external resources **SHOULD NOT** be included. External resources may disappear.\n\n${added}## Next\n`;
      const cs = diffProse(a, b);
      expect(cs.filter((c) => c.op === 'delete').map((c) => c.text.trim())).toEqual(['Links']);
      expect(changed(cs)).toBeLessThanOrEqual(modelChanged(a, b));
    });
  });
});
