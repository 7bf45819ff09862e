/**
 * Suggested changes on the proposal page, without JavaScript (issue 15): a member quotes a
 * passage and suggests new words (or its deletion) in the comment form; the thread shows the
 * change as a rendered word diff; the proposal's editors — and only they — get an "Apply
 * suggestion" form, and with several suggestions, checkboxes and one form that applies the
 * ticked ones as one revision; a suggestion whose passage changed says "outdated" and offers
 * no button; refusals come back on the page with their code.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { Express } from 'express';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { alertCode, follow, formOf, forms, notice, section } from '../helpers/pages.js';
import { createProposal, reviseProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { proposalText } from '../../server/services/proposals/read.js';
import { publishedText } from '../helpers/people.js';

describe('http/suggestionPages', () => {
  const PASSWORD = 'a long enough password';
  const SLUG = 'terms-of-reference';
  const clock = testClock('2026-06-01T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let app: Express;
  let wanda: Agent; // wg-strategy: drafts the proposal, may edit it
  let mia: Agent; // a member: suggests
  let pete: Agent; // another member
  let wandaActor: Awaited<ReturnType<typeof makeUser>>['actor'];

  const { post } = forms('/drafts');
  const comments = () => t.ctx.meta.all('comments').sort((a, b) => a.id - b.id);
  const rec = (id: number) => t.ctx.meta.get('proposals', id)!;
  /** The HTML of one thread. */
  const thread = (html: string, id: number) => {
    const start = html.indexOf(`id="thread-${id}"`);
    return start < 0 ? '' : html.slice(start, html.indexOf('class="thread', start + 20));
  };

  async function newProposal(title: string) {
    const p = await createProposal(t.ctx, wandaActor, SLUG, {
      title,
      rationale: '',
      text: await publishedText(t.ctx, SLUG),
    });
    return shareProposal(t.ctx, wandaActor, p.id);
  }

  /** Mia suggests through the comment form; the new comment's id. */
  async function suggestByForm(id: number, fields: Record<string, string>): Promise<number> {
    const res = await post(mia, `/proposals/${id}/comments`, { body: 'Simpler.', ...fields });
    expect(res.status).toBe(303);
    return comments().at(-1)!.id;
  }

  beforeAll(async () => {
    t = await openTestApp({ clock });
    app = t.app;
    const w = await makeUser(t.ctx, {
      email: 'wanda@example.org',
      name: 'Wanda Strategy',
      roles: ['member'],
      groups: ['wg-strategy'],
      password: PASSWORD,
    });
    wandaActor = w.actor;
    await makeUser(t.ctx, {
      email: 'mia@example.org',
      name: 'Mia Member',
      roles: ['member'],
      groups: [],
      password: PASSWORD,
    });
    await makeUser(t.ctx, {
      email: 'pete@example.org',
      name: 'Pete Plain',
      roles: ['member'],
      groups: [],
      password: PASSWORD,
    });
    [wanda, mia, pete] = await Promise.all([
      signedIn(app, 'wanda@example.org', PASSWORD),
      signedIn(app, 'mia@example.org', PASSWORD),
      signedIn(app, 'pete@example.org', PASSWORD),
    ]);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  describe('suggested changes on the proposal page', () => {
    test('the form suggests new words; the thread shows the word diff; only editors get "Apply"', async () => {
      const p = await newProposal('Plainer words');
      const page = (await mia.get(`/proposals/${p.id}`)).text;
      expect(page).toContain('name="suggestion"');
      const id = await suggestByForm(p.id, { quote: 'Chatham House Rule', suggestion: 'house rules' });
      expect(comments().at(-1)).toMatchObject({ suggestion: 'house rules', anchor: { quote: 'Chatham House Rule' } });

      const seen = thread((await mia.get(`/proposals/${p.id}`)).text, id);
      expect(seen).toContain('class="suggestion"');
      expect(seen).toMatch(/<del>Chatham House Rule<\/del>/);
      expect(seen).toMatch(/<ins>house rules<\/ins>/);
      const action = `/proposals/${p.id}/comments/${id}/apply`;
      expect(formOf(seen, action)).toBe('');
      expect(formOf(thread((await pete.get(`/proposals/${p.id}`)).text, id), action)).toBe('');
      const own = (await wanda.get(`/proposals/${p.id}`)).text;
      const form = formOf(thread(own, id), action);
      expect(form).toContain(`name="head" value="${p.head}"`);
      expect(form).toContain('Apply suggestion');
      // One suggestion: no checkboxes, no "apply the selected".
      expect(own).not.toContain('id="apply-suggestions"');

      const res = await post(wanda, action, { head: p.head });
      const after = await follow(wanda, res);
      expect(notice(after.text)).toContain('applied as revision 2');
      expect(after.text).toContain('applied in revision 2');
      // Filed as applied, not as an outdated comment (its passage changed because it was taken).
      expect(section(after.text, 'applied-h')).toContain(`id="thread-${id}"`);
      expect(section(after.text, 'outdated-h')).toBe('');
      expect(formOf(after.text, action)).toBe('');
      expect(await proposalText(t.ctx, rec(p.id))).toContain('held under the house rules.');
      expect(comments().find((c) => c.id === id)).toMatchObject({ resolved: true, appliedIn: 2 });

      const log = execFileSync(
        'git',
        ['--git-dir', path.join(t.dataDir, 'git'), 'log', '-1', '--format=%an%n%B', rec(p.id).head],
        {
          env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: t.dataDir, LC_ALL: 'C' },
        },
      ).toString('utf8');
      expect(log.split('\n')[0]).toBe('Wanda Strategy');
      expect(log).toContain('Co-authored-by: Mia Member <mia@example.org>');
    });

    test('several suggestions: checkboxes and one form apply the ticked ones as one revision', async () => {
      const p = await newProposal('Two changes');
      const a = await suggestByForm(p.id, { quote: 'Chatham House Rule', suggestion: 'house rules' });
      const b = await suggestByForm(p.id, { quote: 'participate in person', suggestion: '', deletes: 'yes' });
      const c = await suggestByForm(p.id, { quote: 'closed meetings of the Group', suggestion: 'meetings' });
      expect(comments().find((x) => x.id === b)?.suggestion).toBe('');
      expect(thread((await mia.get(`/proposals/${p.id}`)).text, b)).toContain('Suggests deleting the passage');

      const own = (await wanda.get(`/proposals/${p.id}`)).text;
      expect(formOf(own, `/proposals/${p.id}/suggestions/apply`)).toContain(`name="head" value="${p.head}"`);
      for (const x of [a, b, c])
        expect(thread(own, x)).toContain(`name="comments" value="${x}" form="apply-suggestions"`);
      expect((await pete.get(`/proposals/${p.id}`)).text).not.toContain('id="apply-suggestions"');

      const res = await post(wanda, `/proposals/${p.id}/suggestions/apply`, {
        head: p.head,
        comments: [String(a), String(c)],
      });
      expect(notice((await follow(wanda, res)).text)).toContain('2 suggestions were applied as revision 2');
      expect(rec(p.id).revisions).toBe(2);
      const text = await proposalText(t.ctx, rec(p.id));
      expect(text).toContain('house rules');
      expect(text).toContain('in person in the meetings.');
      expect(comments().find((x) => x.id === b)?.appliedIn).toBeUndefined();

      // Nothing ticked: refused on the page, nothing written.
      const none = await post(wanda, `/proposals/${p.id}/suggestions/apply`, { head: rec(p.id).head });
      expect([none.status, alertCode(none.text)]).toEqual([400, 'invalid_comments']);
      // Someone who may not edit: 403.
      expect((await post(pete, `/proposals/${p.id}/comments/${b}/apply`, { head: rec(p.id).head })).status).toBe(403);
      expect(rec(p.id).revisions).toBe(2);
    });

    test('a passage changed since: "outdated", no button, and applying is refused with its code', async () => {
      const p = await newProposal('Moving target');
      const id = await suggestByForm(p.id, { quote: 'Chatham House Rule', suggestion: 'house rules' });
      const text = await proposalText(t.ctx, p);
      const r2 = await reviseProposal(t.ctx, wandaActor, p.id, {
        text: text.replace('Chatham House Rule', 'Rule'),
        head: p.head,
      });
      const own = (await wanda.get(`/proposals/${p.id}`)).text;
      expect(thread(own, id)).toContain('outdated');
      expect(formOf(own, `/proposals/${p.id}/comments/${id}/apply`)).toBe('');
      const res = await post(wanda, `/proposals/${p.id}/comments/${id}/apply`, { head: r2.head });
      expect([res.status, alertCode(res.text)]).toEqual([409, 'suggestion_outdated']);
      // A stale head is the revise form's refusal.
      const q = await newProposal('Stale');
      const s = await suggestByForm(q.id, { quote: 'Chatham House Rule', suggestion: 'house rules' });
      const stale = await post(wanda, `/proposals/${q.id}/comments/${s}/apply`, { head: '0'.repeat(40) });
      expect([stale.status, alertCode(stale.text)]).toEqual([409, 'stale_head']);
      const forged = await post(wanda, `/proposals/${q.id}/comments/${s}/apply`, { head: 'not a commit' });
      expect([forged.status, alertCode(forged.text)]).toEqual([400, 'invalid_head']);
      expect((await post(wanda, `/proposals/${q.id}/comments/x/apply`, { head: rec(q.id).head })).status).toBe(404);
      expect(rec(q.id).revisions).toBe(1);
    });

    test('a suggestion needs a quoted passage: refused beside the comment form, what was typed kept', async () => {
      const p = await newProposal('No quote');
      const n = comments().length;
      const res = await post(mia, `/proposals/${p.id}/comments`, { body: 'Hm.', suggestion: 'new words' });
      expect([res.status, alertCode(res.text)]).toEqual([400, 'suggestion_needs_anchor']);
      expect(res.text).toContain('new words</textarea>');
      expect(comments()).toHaveLength(n);
    });
  });
});
