/**
 * Consolidation merging (server/domain/merge.ts): proposals merged three-way, in order, onto
 * the published text, by sentence; overlaps become conflict blocks naming the proposals involved.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  findConflicts,
  hasConflictMarkers,
  mergeProposals,
  mergeWithProvenance,
  splitTokens,
  type MergeInput,
} from '../../server/domain/merge.js';
import { runs } from '../helpers/depth.js';

describe('domain/merge', () => {
  const doc = (paras: string[]) => `${paras.join('\n\n')}\n`;

  const P = [
    '# Terms of Reference',
    'The Group advises the convening authority on the programme of the annual meeting.',
    'Closed meetings of the Group are held under the Chatham House Rule.',
    'Members are required to participate in person in the closed meetings of the Group.',
    'The Group meets at least three times a year.',
    'The chair is appointed by the convening authority.',
  ];
  const PUB = doc(P);
  const without = (i: number) => doc(P.filter((_, j) => j !== i));
  const replaced = (i: number, s: string, paras = P) => doc(paras.map((p, j) => (j === i ? s : p)));
  const prop = (id: number, title: string, head: string, base = PUB): MergeInput => ({ id, title, base, head });

  describe('mergeProposals', () => {
    test('non-overlapping proposals merge cleanly, in order (two proposals each removing a different paragraph)', () => {
      const steps = mergeProposals(PUB, [prop(1, 'No Chatham House', without(2)), prop(2, 'The chair', without(5))]);
      expect(steps.map((s) => [s.proposal, s.conflicts])).toEqual([
        [1, 0],
        [2, 0],
      ]);
      // Step 1 has only the first change; step 2 both.
      expect(steps[0].text).toBe(without(2));
      expect(steps[1].text).toBe(doc([P[0], P[1], P[3], P[4]]));
      expect(hasConflictMarkers(steps[1].text)).toBe(false);
      expect(findConflicts(steps[1].text)).toEqual([]);
    });

    test('non-overlapping edits of neighbouring paragraphs merge cleanly', () => {
      const steps = mergeProposals(PUB, [
        prop(1, 'Open meetings', replaced(2, 'Meetings are open.')),
        prop(2, 'Remote participation', replaced(3, 'Members may participate remotely.')),
      ]);
      expect(steps.map((s) => s.conflicts)).toEqual([0, 0]);
      expect(steps[1].text).toBe(
        doc([P[0], P[1], 'Meetings are open.', 'Members may participate remotely.', P[4], P[5]]),
      );
    });

    test('overlapping proposals produce one conflict block naming both, with both versions of the passage', () => {
      const steps = mergeProposals(PUB, [
        prop(1, 'Open meetings', replaced(2, 'Meetings are open to the public.')),
        prop(2, 'Closed meetings', replaced(2, 'Closed meetings are confidential.')),
      ]);
      expect(steps.map((s) => s.conflicts)).toEqual([0, 1]);
      const text = steps[1].text;
      expect(hasConflictMarkers(text)).toBe(true);
      const blocks = findConflicts(text);
      expect(blocks).toHaveLength(1);
      expect(blocks[0].proposals).toEqual([1, 2]);
      expect(blocks[0].text).toContain('Meetings are open to the public.');
      expect(blocks[0].text).toContain('Closed meetings are confidential.');
      expect(blocks[0].text).toMatch(/^<<<<<<< /);
      expect(blocks[0].text).toMatch(/\n=======\n/);
      expect(blocks[0].text).toMatch(/\n>>>>>>> proposal 2: Closed meetings\n$/);
      // Everything outside the block is untouched.
      expect(text.replace(blocks[0].text, '')).toBe(PUB.replace(`${P[2]}\n`, ''));
    });

    test('a proposal based on an older published text still merges onto the current one', () => {
      const v1 = PUB;
      const v2 = replaced(4, 'The Group meets at least four times a year.');
      // Made on v1, changing another paragraph than v2 did.
      const steps = mergeProposals(v2, [prop(1, 'Open meetings', replaced(2, 'Meetings are open.'), v1)]);
      expect(steps[0].conflicts).toBe(0);
      expect(steps[0].text).toBe(
        doc([P[0], P[1], 'Meetings are open.', P[3], 'The Group meets at least four times a year.', P[5]]),
      );
    });

    test('a proposal based on an older text that changed the same passage conflicts with the published text', () => {
      const v2 = replaced(4, 'The Group meets at least four times a year.');
      const steps = mergeProposals(v2, [prop(3, 'Twice a year', replaced(4, 'The Group meets twice a year.'), PUB)]);
      expect(steps[0].conflicts).toBe(1);
      const blocks = findConflicts(steps[0].text);
      expect(blocks).toHaveLength(1);
      expect(blocks[0].proposals).toEqual([3]);
      expect(blocks[0].text).toContain('published text');
    });

    test('identical changes in two proposals are not a conflict', () => {
      const same = replaced(2, 'Meetings are open.');
      const steps = mergeProposals(PUB, [prop(1, 'Open', same), prop(2, 'Also open', same)]);
      expect(steps.map((s) => s.conflicts)).toEqual([0, 0]);
      expect(steps[1].text).toBe(same);
    });

    test('a proposal that changes nothing leaves the text as it was', () => {
      const steps = mergeProposals(PUB, [prop(1, 'Nothing', PUB)]);
      expect(steps).toEqual([{ proposal: 1, text: PUB, conflicts: 0 }]);
    });

    test('a conflict block names only the proposals involved, not numbers in a proposal title', () => {
      // BUG: findConflicts reads ids with /\b(?:proposals?|,)\s*(\d+)/ over the whole label line,
      // so a title such as "Amend clauses 4, 7" adds a proposal 7 that does not exist.
      const steps = mergeProposals(PUB, [
        prop(1, 'Open meetings', replaced(2, 'Meetings are open.')),
        prop(2, 'Amend clauses 4, 7', replaced(2, 'Meetings are confidential.')),
      ]);
      expect(steps[1].conflicts).toBe(1);
      expect(findConflicts(steps[1].text).map((b) => b.proposals)).toEqual([[1, 2]]);
    });

    test('three proposals changing one passage: the conflicts name all three', () => {
      // BUG: the third proposal's conflict wraps the first block (nested markers); findConflicts'
      // non-greedy regex then reports only the inner part, naming proposals 1 and 2 but not 3.
      const steps = mergeProposals(PUB, [
        prop(1, 'one', replaced(2, 'Version one.')),
        prop(2, 'two', replaced(2, 'Version two.')),
        prop(3, 'three', replaced(2, 'Version three.')),
      ]);
      expect(steps.map((s) => s.conflicts)).toEqual([0, 1, 1]);
      const blocks = findConflicts(steps[2].text);
      const named = [...new Set(blocks.flatMap((b) => b.proposals))].sort();
      expect(named).toEqual([1, 2, 3]);
      // Every passage involved is inside a reported block.
      for (const v of ['Version one.', 'Version two.', 'Version three.'])
        expect(blocks.some((b) => b.text.includes(v))).toBe(true);
    });
  });

  describe('hasConflictMarkers / findConflicts', () => {
    test('a setext heading underline "=======" alone is not a conflict marker', () => {
      const text = 'Terms of Reference\n=======\n\nThe Group advises.\n\nSection\n-------\n\nMore.\n';
      expect(hasConflictMarkers(text)).toBe(false);
      expect(findConflicts(text)).toEqual([]);
      // … and a proposal changing text under a setext heading merges as usual.
      const head = text.replace('The Group advises.', 'The Group advises the authority.');
      const steps = mergeProposals(text, [prop(1, 'Clarify', head, text)]);
      expect(steps[0]).toEqual({ proposal: 1, text: head, conflicts: 0 });
    });

    test('a half-deleted block (one marker left) still counts as unresolved', () => {
      expect(hasConflictMarkers('A\n<<<<<<< consolidated text (proposal 1)\nB\n')).toBe(true);
      expect(hasConflictMarkers('A\nB\n>>>>>>> proposal 2: x\n')).toBe(true);
      expect(findConflicts('A\nB\n>>>>>>> proposal 2: x\n')).toEqual([]);
    });

    test('a resolved text (the chair kept one side) has no conflicts', () => {
      const steps = mergeProposals(PUB, [prop(1, 'A', replaced(2, 'One.')), prop(2, 'B', replaced(2, 'Two.'))]);
      const block = findConflicts(steps[1].text)[0];
      const resolved = steps[1].text.replace(block.text, 'Two.\n');
      expect(resolved).toBe(replaced(2, 'Two.'));
      expect(hasConflictMarkers(resolved)).toBe(false);
    });
  });

  describe('property: proposals that each change a distinct single paragraph', () => {
    /** A text of 3–14 distinct paragraphs; some proposals, each replacing or deleting its own paragraph. */
    const arb = fc.integer({ min: 3, max: 14 }).chain((n) =>
      fc.record({
        paras: fc.constant(
          Array.from({ length: n }, (_, i) => `Paragraph ${i + 1} says ${'x'.repeat(i % 5)} something.`),
        ),
        changes: fc.uniqueArray(
          fc.record({
            at: fc.integer({ min: 0, max: n - 1 }),
            kind: fc.constantFrom('replace', 'delete', 'extend'),
            words: fc.array(fc.constantFrom('alpha', 'beta', 'gamma', 'delta', 'ratify', 'members'), {
              minLength: 1,
              maxLength: 6,
            }),
          }),
          { selector: (c) => c.at, minLength: 1, maxLength: n },
        ),
        older: fc.boolean(),
      }),
    );

    const apply = (paras: string[], changes: { at: number; kind: string; words: string[] }[]) => {
      const out: (string | null)[] = [...paras];
      for (const c of changes) {
        if (c.kind === 'replace') out[c.at] = `${c.words.join(' ')}.`;
        else if (c.kind === 'extend') out[c.at] = `${paras[c.at]} ${c.words.join(' ')}.`;
        else out[c.at] = null;
      }
      // A deleted paragraph is its line removed; the blank lines around it stay.
      return out.map((p) => (p === null ? '' : `${p}\n`)).join('\n');
    };

    test('the merge equals applying all changes, without conflicts, in any order of proposals', () => {
      fc.assert(
        fc.property(arb, ({ paras, changes, older }) => {
          const pub = paras.map((p) => `${p}\n`).join('\n');
          const inputs = changes.map((c, i) => ({ id: i + 1, title: `p${i + 1}`, base: pub, head: apply(paras, [c]) }));
          const steps = mergeProposals(pub, inputs);
          expect(steps.map((s) => s.conflicts)).toEqual(inputs.map(() => 0));
          expect(steps[steps.length - 1].text).toBe(apply(paras, changes));
          // Each step is the changes so far.
          steps.forEach((s, i) => expect(s.text).toBe(apply(paras, changes.slice(0, i + 1))));
          expect(hasConflictMarkers(steps[steps.length - 1].text)).toBe(false);
          if (older && !changes.some((c) => c.at === paras.length - 1)) {
            // The same proposals onto a newer published text in which a paragraph was appended
            // (after an unchanged last paragraph): still clean, and the appended one survives.
            const newer = `${pub}\nAppended by a later version.\n`;
            const merged = mergeProposals(newer, inputs);
            expect(merged.every((s) => s.conflicts === 0)).toBe(true);
            expect(merged[merged.length - 1].text).toBe(`${apply(paras, changes)}\nAppended by a later version.\n`);
          }
        }),
        runs(300),
      );
    });
  });

  describe('sentence tokens (splitTokens)', () => {
    test('a paragraph splits into sentences, each carrying its trailing whitespace', () => {
      expect(splitTokens('One thing. Another thing? A third!\n')).toEqual([
        'One thing. ',
        'Another thing? ',
        'A third!\n',
      ]);
    });

    test('abbreviations do not end a sentence', () => {
      const text =
        'Members, e.g. observers, may attend. See Art. 5 and No. 3 of para. 2 of the rules. I.e. all of them.\n';
      expect(splitTokens(text)).toEqual([
        'Members, e.g. observers, may attend. ',
        'See Art. 5 and No. 3 of para. 2 of the rules. ',
        'I.e. all of them.\n',
      ]);
    });

    test('blank lines, headings and list items are tokens of their own', () => {
      const text = '# Title\n\nFirst. Second.\n\n- An item. More of it.\n- Another item.\n1. Numbered.\n';
      expect(splitTokens(text)).toEqual([
        '# Title\n',
        '\n',
        'First. ',
        'Second.\n',
        '\n',
        '- An item. ',
        'More of it.\n',
        '- Another item.\n',
        '1. Numbered.\n',
      ]);
    });

    test('lines of a fenced code block are tokens of their own, never split into sentences', () => {
      const text = '```\nA. B.\nC.\n```\n';
      expect(splitTokens(text)).toEqual(['```\n', 'A. B.\n', 'C.\n', '```\n']);
    });

    test('property: joining the tokens gives back the text, byte for byte', () => {
      const piece = fc.constantFrom(
        'Word',
        ' ',
        '  ',
        '.',
        '. ',
        '?',
        '!',
        '\n',
        '\n\n',
        '\r\n',
        '# ',
        '- ',
        '1. ',
        'e.g. ',
        'Art. ',
        '```',
        '> ',
        '| a |',
        '\t',
        'é',
        '😀',
      );
      fc.assert(
        fc.property(fc.array(fc.oneof(piece, fc.string()), { maxLength: 40 }), (parts) => {
          const text = parts.join('');
          const tokens = splitTokens(text);
          expect(tokens.join('')).toBe(text);
          expect(tokens.every((t) => t.length > 0)).toBe(true);
        }),
        runs(500),
      );
    });
  });

  describe('merging by sentence', () => {
    const PARA = 'Members may participate in person. Observers may attend. The chair keeps order.';
    const BASE = doc(['# Rules', PARA, 'The Group meets twice a year. It reports annually.']);
    const edit = (from: string, to: string) => BASE.replace(from, to);

    test('two proposals changing different sentences of one paragraph merge cleanly', () => {
      const steps = mergeProposals(BASE, [
        prop(1, 'Remote', edit('Members may participate in person.', 'Members may participate remotely.'), BASE),
        prop(2, 'Order', edit('The chair keeps order.', 'The chair keeps order and time.'), BASE),
      ]);
      expect(steps.map((s) => s.conflicts)).toEqual([0, 0]);
      expect(steps[1].text).toBe(
        BASE.replace('in person.', 'remotely.').replace('The chair keeps order.', 'The chair keeps order and time.'),
      );
    });

    test('neighbouring sentences, and the last sentence of a paragraph with the first of the next, merge cleanly', () => {
      const steps = mergeProposals(BASE, [
        prop(1, 'a', edit('Observers may attend.', 'Observers may attend and speak.'), BASE),
        prop(2, 'b', edit('The chair keeps order.', 'The chair presides.'), BASE),
        prop(3, 'c', edit('The Group meets twice a year.', 'The Group meets four times a year.'), BASE),
      ]);
      expect(steps.map((s) => s.conflicts)).toEqual([0, 0, 0]);
      expect(steps[2].text).toBe(
        BASE.replace('may attend.', 'may attend and speak.')
          .replace('keeps order.', 'presides.')
          .replace('twice', 'four times'),
      );
    });

    test('a sentence inserted before one that another proposal changes merges cleanly', () => {
      const steps = mergeProposals(BASE, [
        prop(1, 'insert', edit('Observers may attend.', 'Guests are welcome. Observers may attend.'), BASE),
        prop(2, 'change', edit('Observers may attend.', 'Observers may not attend.'), BASE),
      ]);
      expect(steps.map((s) => s.conflicts)).toEqual([0, 0]);
      expect(steps[1].text).toBe(edit('Observers may attend.', 'Guests are welcome. Observers may not attend.'));
    });

    test('two proposals changing the same sentence conflict, and the block holds only the competing sentences', () => {
      const steps = mergeProposals(BASE, [
        prop(1, 'Remote', edit('Members may participate in person.', 'Members may participate remotely.'), BASE),
        prop(2, 'Hybrid', edit('Members may participate in person.', 'Members may participate in a hybrid way.'), BASE),
      ]);
      expect(steps.map((s) => s.conflicts)).toEqual([0, 1]);
      const [block] = findConflicts(steps[1].text);
      expect(block.proposals).toEqual([1, 2]);
      expect(block.text).toBe(
        '<<<<<<< consolidated text (proposal 1)\nMembers may participate remotely.\n=======\nMembers may participate in a hybrid way.\n>>>>>>> proposal 2: Hybrid\n',
      );
      // The rest of the paragraph is there, untouched, after the block.
      expect(steps[1].text).toContain(`${block.text}Observers may attend. The chair keeps order.\n`);
      // Keeping one side and removing the markers leaves the paragraph's sentences, one per line.
      const resolved = steps[1].text.replace(block.text, 'Members may participate remotely.\n');
      expect(hasConflictMarkers(resolved)).toBe(false);
      expect(resolved).toBe(edit('in person. ', 'remotely.\n'));
    });

    test('a conflict in the middle of a paragraph starts its markers on a line of their own', () => {
      const steps = mergeProposals(BASE, [
        prop(1, 'a', edit('Observers may attend.', 'Observers may speak.'), BASE),
        prop(2, 'b', edit('Observers may attend.', 'Observers may vote.'), BASE),
      ]);
      expect(steps[1].conflicts).toBe(1);
      expect(steps[1].text).toContain(
        'Members may participate in person. \n<<<<<<< consolidated text (proposal 1)\nObservers may speak.\n=======\nObservers may vote.\n>>>>>>> proposal 2: b\nThe chair keeps order.\n',
      );
      expect(findConflicts(steps[1].text)).toHaveLength(1);
    });

    test('provenance: each token of each step names the proposals that put it there', () => {
      const steps = mergeWithProvenance(BASE, [
        prop(1, 'a', edit('Observers may attend.', 'Observers may speak.'), BASE),
        prop(2, 'b', edit('The chair keeps order.', 'The chair presides.'), BASE),
      ]);
      const last = steps[1];
      expect(last.tokens.join('')).toBe(last.text);
      const from = (t: string) => last.sources[last.tokens.indexOf(t)];
      expect(from('Observers may speak. ')).toEqual([1]);
      expect(from('The chair presides.\n')).toEqual([2]);
      expect(from('Members may participate in person. ')).toEqual([]);
    });
  });

  describe('property: proposals each editing their own sentences', () => {
    const word = fc.constantFrom(
      'members',
      'chair',
      'group',
      'vote',
      'meets',
      'rules',
      'e.g.',
      'No.',
      'Art.',
      'observers',
    );
    const sentence = fc
      .array(word, { minLength: 1, maxLength: 5 })
      .map((ws) => `${ws[0][0].toUpperCase()}${ws.join(' ').slice(1).replace(/\.$/, '')}.`);
    /** Paragraphs of sentences (each sentence distinct: a number in it). */
    const textArb = fc
      .array(fc.array(sentence, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 })
      .map((paras) => {
        let n = 0;
        return paras.map((ss) => ss.map((s) => `${s.slice(0, -1)} ${++n}.`));
      });
    type Edit = { kind: 'replace' | 'delete' | 'insert'; by: string };
    const render = (paras: string[][]) => `${paras.map((ss) => ss.join(' ')).join('\n\n')}\n`;
    /** Apply edits keyed by sentence position: replace a sentence, delete it (not the last of its paragraph), or insert one before it. */
    const apply = (paras: string[][], edits: Map<string, Edit>) =>
      render(
        paras.map((ss, i) =>
          ss.flatMap((s, j) => {
            const e = edits.get(`${i}:${j}`);
            if (!e) return [s];
            if (e.kind === 'replace') return [e.by];
            if (e.kind === 'insert') return [e.by, s];
            return j === ss.length - 1 ? [s] : [];
          }),
        ),
      );
    const arb = textArb.chain((paras) => {
      const keys = paras.flatMap((ss, i) => ss.map((_, j) => `${i}:${j}`));
      const editArb = fc.record({
        kind: fc.constantFrom<Edit['kind']>('replace', 'delete', 'insert'),
        by: sentence.map((s) => `${s.slice(0, -1)} new.`),
      });
      return fc.record({
        paras: fc.constant(paras),
        picks: fc.shuffledSubarray(keys, { minLength: 1, maxLength: Math.min(keys.length, 4) }),
        edits: fc.array(editArb, { minLength: 4, maxLength: 4 }),
        split: fc.integer({ min: 0, max: 4 }),
      });
    });

    test('two proposals editing disjoint sentences: the merge is the text with both edits applied', () => {
      fc.assert(
        fc.property(arb, ({ paras, picks, edits, split }) => {
          const all = new Map(picks.map((k, i) => [k, edits[i]] as const));
          const one = new Map([...all].slice(0, Math.min(split, all.size)));
          const two = new Map([...all].slice(Math.min(split, all.size)));
          const pub = render(paras);
          const inputs = [one, two]
            .filter((m) => m.size)
            .map((m, i) => ({ id: i + 1, title: `p${i + 1}`, base: pub, head: apply(paras, m) }));
          const steps = mergeProposals(pub, inputs);
          expect(steps.map((s) => s.conflicts)).toEqual(inputs.map(() => 0));
          expect(steps[steps.length - 1].text).toBe(apply(paras, all));
        }),
        runs(400),
      );
    });

    test('one proposal merged onto its own base gives its head exactly', () => {
      const piece = fc.oneof(
        fc.string(),
        fc.constantFrom('A sentence. ', 'Another one?\n', '\n\n', '# H\n', '- item. ', 'e.g. '),
      );
      const text = fc.array(piece, { maxLength: 12 }).map((xs) => xs.join(''));
      fc.assert(
        fc.property(text, text, (base, head) => {
          expect(mergeProposals(base, [{ id: 1, title: 't', base, head }])).toEqual([
            { proposal: 1, text: head, conflicts: 0 },
          ]);
        }),
        runs(400),
      );
    });
  });
});
