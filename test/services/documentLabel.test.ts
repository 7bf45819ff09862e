/**
 * A document's short label in mail subjects (issue 13, item 3): `[ToR]` by default, from the
 * slug; the secretariat may set its own (1–16 characters, one line, no square brackets), and
 * every subject about that document uses it; an empty label goes back to the default.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { updateDocument } from '../../server/services/documents/updateDocument.js';
import { openRound } from '../../server/services/rounds/rounds.js';
import { testClock, type TestData } from '../helpers/data.js';
import { refusal, sharedProposal, twoProposalConsolidation, S1, TOR, openWithCommittee } from '../helpers/people.js';

describe('services/documentLabel', () => {
  const opened: TestData[] = [];
  afterEach(async () => {
    for (const t of opened.splice(0)) await t.cleanup().catch(() => {});
  });

  async function setup() {
    const { t, who } = await openWithCommittee({ clock: testClock('2026-03-01T09:00:00Z') });
    opened.push(t);
    return { ctx: t.ctx, who };
  }

  test('by default the label comes from the slug', async () => {
    const { ctx, who } = await setup();
    const p = await sharedProposal(ctx, who.drafter, 'Open meetings', (x) => x.replace(S1, ''));
    expect(ctx.meta.all('mails')[0].subject).toBe(`[ToR] Proposal ${p.id}: Open meetings`);
  });

  test('a label set on the document is in every subject of its threads', async () => {
    const { ctx, who } = await setup();
    const doc = await updateDocument(ctx, CLI_ACTOR, TOR, { label: ' MAG ToR ' });
    expect(doc.label).toBe('MAG ToR');
    const { p1, c } = await twoProposalConsolidation(ctx, who);
    await openRound(ctx, who.chair.actor, {
      subject: { type: 'consolidation', id: c.id },
      rule: 'majority',
      quorum: 0.5,
      closesAt: '2026-03-08T17:00:00Z',
    });
    const subjects = ctx.meta.all('mails').map((m) => m.subject);
    expect(subjects).toContain(`[MAG ToR] Proposal ${p1.id}: Open meetings`);
    expect(subjects).toContain(`[MAG ToR] Consolidation ${c.id}: Open and remote meetings`);
    expect(subjects).toContain(`Re: [MAG ToR] Consolidation ${c.id}: Open and remote meetings`);
    expect(subjects.filter((s) => s.includes('[ToR]'))).toEqual([]);
  });

  test('an empty label goes back to the default; the label alone is a change (audited once)', async () => {
    const { ctx } = await setup();
    await updateDocument(ctx, CLI_ACTOR, TOR, { label: 'Terms' });
    expect((await ctx.meta.auditLog(1))[0]).toMatchObject({ action: 'document.updated', subject: `document/${TOR}` });
    const seq = (await ctx.meta.auditLog(1))[0].seq;
    const same = await updateDocument(ctx, CLI_ACTOR, TOR, { label: 'Terms' });
    expect(same.label).toBe('Terms');
    expect((await ctx.meta.auditLog(1))[0].seq).toBe(seq);
    const back = await updateDocument(ctx, CLI_ACTOR, TOR, { label: '  ' });
    expect(back.label).toBeUndefined();
    expect(ctx.meta.get('documents', TOR)!.label).toBeUndefined();
  });

  test.each([['x'.repeat(17)], ['[ToR]'], ['Two\nlines'], ['tab\there']])(
    'a bad label %j is refused (invalid_label) and nothing changes',
    async (label) => {
      const { ctx } = await setup();
      const before = ctx.meta.get('documents', TOR);
      expect(await refusal(updateDocument(ctx, CLI_ACTOR, TOR, { label }))).toEqual({
        kind: 'invalid',
        code: 'invalid_label',
      });
      expect(ctx.meta.get('documents', TOR)).toEqual(before);
    },
  );
});
