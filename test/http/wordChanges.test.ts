/**
 * The comparison as a Word file (http/render/wordOut.ts), as a property: for texts made of the
 * blocks Ratify's documents use (headings, paragraphs with bold, italic and links, bullet and
 * numbered lists, quotes, code) and edits of them (blocks dropped, added or replaced, words
 * changed, emphasis added), or rewrites, the comparison's file with its
 * tracked changes accepted reads (through the project's Word reader, which accepts them) as the
 * later text's own file does — and, compared the other way round, as the earlier one's.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { diffProse } from '../../server/domain/diff.js';
import { changesDocx, mergeChanges, textDocx } from '../../server/http/render/wordOut.js';
import { docxToMarkdown } from '../../server/util/wordIn.js';
import { runs } from '../helpers/depth.js';

describe('http/wordChanges', () => {
  const META = { title: 'T', description: 'D' };
  const BY = { author: 'Ratify', date: '2026-01-01T00:00:00Z' };

  const word = fc.constantFrom('group', 'members', 'chair', 'vote', 'meeting', 'text', 'rule', 'consensus', 'record');
  const phrase = fc.array(word, { minLength: 1, maxLength: 6 }).map((w) => w.join(' '));
  const inline = fc
    .array(
      fc.oneof(
        { weight: 4, arbitrary: phrase },
        { weight: 1, arbitrary: phrase.map((p) => `**${p}**`) },
        { weight: 1, arbitrary: phrase.map((p) => `*${p}*`) },
        { weight: 1, arbitrary: phrase.map((p) => `[${p}](https://example.org/${p.replace(/ /g, '-')})`) },
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((parts) => `${parts.join(' ')}.`);
  const block = fc.oneof(
    { weight: 4, arbitrary: inline },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 2, max: 4 }), phrase).map(([n, p]) => `${'#'.repeat(n)} ${p}`) },
    {
      weight: 1,
      arbitrary: fc.array(inline, { minLength: 1, maxLength: 3 }).map((items) => items.map((i) => `- ${i}`).join('\n')),
    },
    {
      weight: 1,
      arbitrary: fc
        .array(inline, { minLength: 1, maxLength: 3 })
        .map((items) => items.map((i, k) => `${k + 1}. ${i}`).join('\n')),
    },
    { weight: 1, arbitrary: inline.map((i) => `> ${i}`) },
    {
      weight: 1,
      arbitrary: fc.array(phrase, { minLength: 1, maxLength: 3 }).map((ls) => `\`\`\`\n${ls.join('\n')}\n\`\`\``),
    },
  );
  const text = fc.array(block, { minLength: 1, maxLength: 6 }).map((bs) => `# Title\n\n${bs.join('\n\n')}\n`);

  /** An edit of a text: blocks dropped, added or replaced, words changed, emphasis added or taken off. */
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('add' as const), at: fc.nat(), block }),
    fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), block }),
    fc.record({ kind: fc.constant('word' as const), at: fc.nat(), to: fc.option(word) }),
    fc.record({ kind: fc.constant('emphasis' as const), at: fc.nat(), mark: fc.constantFrom('*', '**') }),
  );

  function applyEdit(text: string, e: typeof edit extends fc.Arbitrary<infer E> ? E : never): string {
    const blocks = text.trimEnd().split('\n\n');
    const i = 1 + (e.at % Math.max(1, blocks.length - 1));
    if (e.kind === 'drop' && blocks.length > 2) blocks.splice(i, 1);
    if (e.kind === 'add') blocks.splice(i, 0, e.block);
    if (e.kind === 'replace' && blocks.length > 1) blocks[Math.min(i, blocks.length - 1)] = e.block;
    const joined = `${blocks.join('\n\n')}\n`;
    const words = [...joined.matchAll(/\b(group|members|chair|vote|meeting|text|rule|consensus|record)\b/g)];
    if (!words.length || e.kind === 'drop' || e.kind === 'add' || e.kind === 'replace') return joined;
    const m = words[e.at % words.length];
    const at = m.index ?? 0;
    const replacement =
      e.kind === 'word' ? (e.to ?? '') : joined.slice(at - 1, at) === '*' ? m[0] : `${e.mark}${m[0]}${e.mark}`;
    if (e.kind === 'word' && e.to === null)
      return joined.slice(0, at) + joined.slice(at + m[0].length).replace(/^ /, '');
    return joined.slice(0, at) + replacement + joined.slice(at + m[0].length);
  }

  /** A text and an edit of it (one to four edits), or two texts with nothing in common but their words. */
  const pair = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(text, fc.array(edit, { minLength: 1, maxLength: 4 }))
        .map(([a, edits]) => [a, edits.reduce(applyEdit, a)] as [string, string]),
    },
    { weight: 1, arbitrary: fc.tuple(text, text) },
  );

  const read = async (file: Uint8Array) => docxToMarkdown(file);

  describe('a comparison as a Word file', () => {
    test('its changes accepted, it reads as the later text (and, the other way round, as the earlier)', async () => {
      await fc.assert(
        fc.asyncProperty(pair, async ([a, b]) => {
          expect(await read(await changesDocx(a, b, META, BY))).toBe(await read(await textDocx(b, META)));
          expect(await read(await changesDocx(b, a, META, BY))).toBe(await read(await textDocx(a, META)));
        }),
        { ...runs(60), seed: 15 },
      );
    }, 120_000);

    test('the merged text keeps a changed line’s block marker outside the marks', () => {
      const merged = mergeChanges(diffProse('# T\n\nOld paragraph.\n', '# T\n\n- a new item\n\nOld paragraph.\n'));
      expect(merged).toContain('\n- \uE000');
      expect(merged.replace(/[\uE000-\uE005]/g, '')).toBe('# T\n\n- a new item\n\nOld paragraph.\n');
    });
  });
});
