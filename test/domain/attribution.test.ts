/**
 * Attribution of a consolidation (server/domain/attribution.ts): each change of the text
 * against the published one, credited to the revision that made it — a proposal's merge, or
 * the chair's editorial revision — from the diffs between revisions, never by matching text.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { attribute, changesOnly, type ChangeSource } from '../../server/domain/attribution.js';
import { runs } from '../helpers/depth.js';

describe('domain/attribution', () => {
  const P1: ChangeSource = { type: 'proposal', id: 1 };
  const P2: ChangeSource = { type: 'proposal', id: 2 };
  const ed = (revision: number, author = 7): ChangeSource => ({ type: 'editorial', revision, author });

  const PUB =
    'Members are required to participate in person. Observers may attend. A member who misses two meetings may be asked to leave.\n\nThe Group meets twice a year.\n';

  describe('attribute', () => {
    test('each proposal is credited with its own changes, word by word', () => {
      const r1 = PUB.replace('are required to participate', 'may participate');
      const r2 = r1.replace('misses two meetings', 'misses three meetings');
      const changes = changesOnly(
        attribute(PUB, [
          { text: r1, source: P1 },
          { text: r2, source: P2 },
        ]),
      );
      expect(changes).toEqual([
        { op: 'delete', text: 'are required to ', source: P1 },
        { op: 'insert', text: 'may ', source: P1 },
        { op: 'delete', text: 'two ', source: P2 },
        { op: 'insert', text: 'three ', source: P2 },
      ]);
    });

    test("the chair's edit of a proposal's sentence is the chair's; what the proposal changed stays the proposal's", () => {
      const r1 = PUB.replace('are required to participate', 'may participate');
      const r2 = r1.replace('may participate', 'may take part');
      const changes = changesOnly(
        attribute(PUB, [
          { text: r1, source: P1 },
          { text: r2, source: ed(2) },
        ]),
      );
      expect(changes).toEqual([
        { op: 'delete', text: 'are required to ', source: P1 },
        { op: 'insert', text: 'may ', source: P1 },
        { op: 'delete', text: 'participate ', source: ed(2) },
        { op: 'insert', text: 'take part ', source: ed(2) },
      ]);
    });

    test("what a later revision takes back is no change at all (the chair drops a proposal's sentence, or restores a deleted one)", () => {
      const r1 = PUB.replace('Observers may attend. ', 'Observers may speak. Guests are welcome. ');
      const r2 = r1.replace('Guests are welcome. ', '');
      const r3 = r2.replace('Observers may speak. ', 'Observers may attend. ');
      const steps = [
        { text: r1, source: P1 },
        { text: r2, source: ed(2) },
        { text: r3, source: ed(3) },
      ];
      expect(changesOnly(attribute(PUB, steps))).toEqual([]);
      expect(changesOnly(attribute(PUB, steps.slice(0, 2)))).toEqual([
        { op: 'delete', text: 'attend. ', source: P1 },
        { op: 'insert', text: 'speak. ', source: P1 },
      ]);
    });

    test('a revision that changes nothing is credited with nothing', () => {
      const r1 = PUB.replace('twice', 'four times');
      expect(
        changesOnly(
          attribute(PUB, [
            { text: r1, source: P1 },
            { text: r1, source: P2 },
            { text: r1, source: ed(3) },
          ]),
        ),
      ).toEqual([
        { op: 'delete', text: 'twice ', source: P1 },
        { op: 'insert', text: 'four times ', source: P1 },
      ]);
    });

    test('property: the pieces are the published text (equal + deleted) and the last revision (equal + inserted), in order', () => {
      const word = fc.constantFrom(
        'members',
        'chair',
        'vote',
        'Group.',
        'e.g.',
        'rules.',
        '\n\n',
        '# Title\n',
        '- item ',
      );
      const text = fc.array(word, { maxLength: 30 }).map((ws) => ws.join(' '));
      fc.assert(
        fc.property(text, fc.array(text, { minLength: 1, maxLength: 5 }), (pub, revs) => {
          const pieces = attribute(
            pub,
            revs.map((t, i) => ({ text: t, source: i % 2 ? ed(i + 1) : { type: 'proposal', id: i + 1 } })),
          );
          expect(
            pieces
              .filter((p) => p.op !== 'insert')
              .map((p) => p.text)
              .join(''),
          ).toBe(pub);
          expect(
            pieces
              .filter((p) => p.op !== 'delete')
              .map((p) => p.text)
              .join(''),
          ).toBe(revs[revs.length - 1]);
          // Every change names the revision that made it: a change by revision i is in revision i's diff.
          for (const p of changesOnly(pieces)) expect(p.source).toBeDefined();
        }),
        runs(300),
      );
    });
  });
});
