/**
 * The round lifecycle's rules, each in one pure function (issue 10, "one home for each rule"):
 * publishability against a reference model over random round histories, due and reminder
 * windows, and when a ballot may be recorded on a member's behalf.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  isDue,
  isReminderDue,
  latestDecided,
  mayRecordFor,
  publishability,
  type RoundFacts,
} from '../../server/domain/round.js';
import { runs } from '../helpers/depth.js';

describe('domain/roundLifecycle', () => {
  const HEAD = 'head';
  const round = (
    id: number,
    state: RoundFacts['state'],
    result: RoundFacts['result'] = null,
    commit = HEAD,
  ): RoundFacts => ({ id, state, result, commit, closesAt: '2026-03-01T12:00:00Z' });

  describe('publishability', () => {
    test('worked cases', () => {
      const c = { state: 'open', head: HEAD };
      expect(publishability(c, false, [])).toEqual({ ok: false, code: 'not_approved', round: null });
      expect(publishability(c, false, [round(1, 'closed', 'passed')])).toEqual({ ok: true, round: 1 });
      // The defect: a passed round, then a second round opened and cancelled. The cancelled round decides nothing.
      expect(publishability(c, false, [round(1, 'closed', 'passed'), round(2, 'cancelled')])).toEqual({
        ok: true,
        round: 1,
      });
      expect(publishability(c, false, [round(1, 'closed', 'passed'), round(2, 'open')])).toEqual({
        ok: false,
        code: 'round_open',
        round: 2,
      });
      expect(publishability(c, false, [round(1, 'closed', 'passed'), round(2, 'closed', 'failed')])).toEqual({
        ok: false,
        code: 'not_approved',
        round: 2,
      });
      expect(publishability(c, false, [round(1, 'closed', 'passed', 'older')])).toEqual({
        ok: false,
        code: 'text_changed',
        round: 1,
      });
      expect(publishability(c, true, [round(1, 'closed', 'passed')])).toMatchObject({ ok: false, code: 'stale' });
      expect(publishability({ state: 'published', head: HEAD }, false, [round(1, 'closed', 'passed')])).toMatchObject({
        ok: false,
        code: 'not_open',
      });
    });

    test('against a reference model, for any history of rounds', () => {
      const arbRound = fc.record({
        state: fc.constantFrom('open' as const, 'closed' as const, 'cancelled' as const),
        result: fc.constantFrom('passed' as const, 'failed' as const, 'no-quorum' as const),
        onHead: fc.boolean(),
      });
      fc.assert(
        fc.property(
          fc.array(arbRound, { maxLength: 6 }),
          fc.boolean(),
          fc.constantFrom('open', 'published', 'abandoned'),
          (spec, stale, state) => {
            // At most one round is open at a time, and only the newest can be.
            const rounds = spec.map((s, i) =>
              round(
                i + 1,
                s.state === 'open' && i < spec.length - 1 ? 'cancelled' : s.state,
                s.state === 'closed' ? s.result : null,
                s.onHead ? HEAD : 'older',
              ),
            );
            // The model: walk the history from the newest, skipping what decided nothing.
            let expected: boolean;
            if (state !== 'open' || stale) expected = false;
            else if (rounds.some((r) => r.state === 'open')) expected = false;
            else {
              const decided = [...rounds].reverse().find((r) => r.state === 'closed');
              expected = !!decided && decided.result === 'passed' && decided.commit === HEAD;
            }
            const got = publishability({ state, head: HEAD }, stale, rounds);
            expect(got.ok).toBe(expected);
            if (got.ok) expect(got.round).toBe(latestDecided(rounds)!.id);
          },
        ),
        runs(500),
      );
    });
  });

  describe('due and reminder windows', () => {
    const r = round(1, 'open');
    test('due at the deadline, not before; only open rounds', () => {
      expect(isDue(r, new Date('2026-03-01T11:59:59Z'))).toBe(false);
      expect(isDue(r, new Date('2026-03-01T12:00:00Z'))).toBe(true);
      expect(isDue({ ...r, state: 'closed' }, new Date('2026-03-02T00:00:00Z'))).toBe(false);
    });
    test('a reminder once, within the window before the deadline', () => {
      expect(isReminderDue(r, new Date('2026-02-28T11:59:59Z'), 24)).toBe(false);
      expect(isReminderDue(r, new Date('2026-02-28T12:00:00Z'), 24)).toBe(true);
      expect(isReminderDue({ ...r, remindedAt: '2026-02-28T12:00:00Z' }, new Date('2026-02-28T13:00:00Z'), 24)).toBe(
        false,
      );
      expect(isReminderDue(r, new Date('2026-03-01T12:00:00Z'), 24)).toBe(false);
    });
  });

  describe("recording a ballot on a member's behalf", () => {
    test('never over a ballot the member cast themselves; over a recorded one, yes', () => {
      expect(mayRecordFor([])).toBe(true);
      expect(mayRecordFor([{ recordedBy: 7 }])).toBe(true);
      expect(mayRecordFor([{ recordedBy: null }])).toBe(false);
      expect(mayRecordFor([{ recordedBy: 7 }, { recordedBy: null }, { recordedBy: 7 }])).toBe(false);
    });
  });
});
