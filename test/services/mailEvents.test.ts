/**
 * The events a member would want by mail (issue 13): someone else revised your proposal; your
 * comment thread was resolved by someone else. And every HTML part is a whole document whose
 * title is the subject.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { addComment, setResolved } from '../../server/services/proposals/comments.js';
import { reviseProposal } from '../../server/services/proposals/proposals.js';
import { testClock, type TestData } from '../helpers/data.js';
import { sharedProposal, S1, S2, openWithCommittee } from '../helpers/people.js';

describe('services/mailEvents', () => {
  const opened: TestData[] = [];
  afterEach(async () => {
    for (const t of opened.splice(0)) await t.cleanup().catch(() => {});
  });

  async function setup() {
    const { t, who } = await openWithCommittee({ clock: testClock('2026-03-01T09:00:00Z') });
    opened.push(t);
    const p = await sharedProposal(t.ctx, who.drafter, 'Open meetings', (x) => x.replace(S1, ''));
    return { ctx: t.ctx, who, p };
  }

  test('a proposal revised by someone else tells its author; the author revising it tells nobody', async () => {
    const { ctx, who, p } = await setup();
    const mails = () => ctx.meta.all('mails').filter((m) => m.event === 'proposal.revised');
    const text = (await ctx.repo.readBlobText(ctx.meta.all('revisions').at(-1)!.blob)) ?? '';
    const mine = await reviseProposal(ctx, who.drafter.actor, p.id, { text: text.replace(S2, ''), head: p.head });
    expect(mails()).toEqual([]);
    await reviseProposal(ctx, who.chair.actor, p.id, { text: `${text}\nOne more line.\n`, head: mine.head });
    expect(mails().map((m) => m.to)).toEqual([[who.drafter.email]]);
    const m = mails()[0];
    expect(m.subject).toBe(`Re: [ToR] Proposal ${p.id}: Open meetings`);
    expect(m.text!.split('\n')[0]).toBe(`${who.chair.name} revised your proposal`);
    expect(m.text).toContain(`/proposals/${p.id}?tab=changes`);
    expect(m.html).toContain(`<title>${m.subject}</title>`);
  });

  test('a comment thread resolved by someone else tells whoever started it; resolving your own or reopening tells nobody', async () => {
    const { ctx, who, p } = await setup();
    const on = () => proposalCommentable(ctx, ctx.meta.get('proposals', p.id)!);
    const started = await addComment(ctx, who.m2.actor, on(), { body: 'Should this apply to working groups too?' });
    const mine = await addComment(ctx, who.drafter.actor, on(), { body: 'A note to self.' });
    const mails = () => ctx.meta.all('mails').filter((m) => m.event === 'comment.resolved');
    await setResolved(ctx, who.drafter.actor, on(), mine.id, true);
    expect(mails()).toEqual([]);
    await setResolved(ctx, who.drafter.actor, on(), started.id, true);
    expect(mails().map((m) => m.to)).toEqual([[who.m2.email]]);
    expect(mails()[0].text).toContain(`#comment-${started.id}`);
    await setResolved(ctx, who.drafter.actor, on(), started.id, false);
    expect(mails()).toHaveLength(1);
  });

  test('every queued HTML part is a whole document titled with its subject', async () => {
    const { ctx } = await setup();
    const all = ctx.meta.all('mails');
    expect(all.length).toBeGreaterThan(0);
    for (const m of all) {
      expect(m.html).toMatch(
        /^<!doctype html><html lang="en"><head><meta charset="utf-8"><title>[^<]+<\/title><\/head><body/,
      );
    }
  });
});
