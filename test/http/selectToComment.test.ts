/**
 * Select to comment (issue 14): a quote copied from the rendered page — across bold text and a
 * link — anchors a comment to the source passage, through the form and the API; the passage
 * is marked in the text while its thread is open, and the thread and its passage link to each
 * other.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { alertCode, follow, forms, section } from '../helpers/pages.js';
import { createConsolidation } from '../../server/services/consolidations/consolidations.js';
import { shareProposal } from '../../server/services/proposals/proposals.js';

describe('http/selectToComment', () => {
  const PASSWORD = 'a long enough password';
  const SLUG = 'terms-of-reference';
  const P1 = 'The Group **meets every month** and follows [its charter](https://example.org/charter) in full.';
  const P2 = '- Members vote *in person*\n- or by `proxy` when absent';
  const TEXT = `# Terms\n\n${P1}\n\n${P2}\n`;
  /** What a reader selects on the page: the sentence across the bold text and the link. */
  const SELECTED = 'The Group meets every month and follows its charter in full.';

  let t: Awaited<ReturnType<typeof openTestApp>>;
  let wanda: Agent;
  let token: string;
  let id: number;
  const { post } = forms('/drafts');
  const comments = () => t.ctx.meta.all('comments').sort((a, b) => a.id - b.id);
  const page = async () => {
    const res = await wanda.get(`/proposals/${id}`);
    expect(res.status).toBe(200);
    return section(res.text, 'text-h');
  };

  beforeAll(async () => {
    t = await openTestApp({ clock: testClock('2026-01-15T10:00:00Z') });
    const w = await makeUser(t.ctx, {
      email: 'wanda@example.org',
      name: 'Wanda Strategy',
      roles: ['member'],
      groups: ['wg-strategy'],
      password: PASSWORD,
    });
    wanda = await signedIn(t.app, w.email, PASSWORD);
    const made = await post(wanda, `/documents/${SLUG}/proposals`, { title: 'Monthly', rationale: '', text: TEXT });
    expect(made.status).toBe(303);
    id = Number(/\/proposals\/(\d+)/.exec(made.headers.location as string)![1]);
    const tok = await request(t.app).post('/api/v1/tokens').send({ email: w.email, password: PASSWORD });
    expect(tok.status).toBe(201);
    token = tok.body.token;
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  describe('a quote of the rendered text', () => {
    test('the form: 303, and the anchor keeps the source passage with its ** and [..](..)', async () => {
      const res = await post(wanda, `/proposals/${id}/comments`, { body: 'Monthly is often.', quote: SELECTED });
      expect(res.status).toBe(303);
      const c = comments().at(-1)!;
      expect(c.anchor).toEqual({ quote: P1, offset: TEXT.indexOf(P1), revision: 1 });
      expect(c.anchor!.quote).toContain('**meets every month**');
      expect(c.anchor!.quote).toContain('[its charter](https://example.org/charter)');
    });

    test('the API: 201, the same anchor; across list items too', async () => {
      const res = await request(t.app)
        .post(`/api/v1/proposals/${id}/comments`)
        .set('Authorization', `Bearer ${token}`)
        .send({ body: 'Why not online?', anchor: { quote: 'in person or by proxy' } });
      expect(res.status).toBe(201);
      expect(res.body.anchor).toMatchObject({ quote: '*in person*\n- or by `proxy`' });
    });

    test('a quote in neither the source nor the shown text is still refused', async () => {
      const api = await request(t.app)
        .post(`/api/v1/proposals/${id}/comments`)
        .set('Authorization', `Bearer ${token}`)
        .send({ body: 'x', anchor: { quote: 'meets every week' } });
      expect(api.status).toBe(400);
      expect(api.body.error.code).toBe('quote_not_found');
      const form = await post(wanda, `/proposals/${id}/comments`, { body: 'x', quote: 'meets every week' });
      expect(form.status).toBe(400);
      expect(alertCode(form.text)).toBe('quote_not_found');
    });
  });

  describe('the passage marked in the text', () => {
    test('an open thread marks its passage, which links to the thread and back', async () => {
      const html = await page();
      const [first, second] = comments().filter((c) => c.anchor);
      expect(html).toContain(
        `<mark class="passage" data-thread="${first.id}" id="passage-${first.id}">The Group </mark>`,
      );
      expect(html).toContain(
        `<strong><mark class="passage" data-thread="${first.id}">meets every month</mark></strong>`,
      );
      expect(html).toContain(`href="#thread-${first.id}"`);
      expect(html).toContain(`href="#passage-${first.id}"`);
      expect(html).toContain(`id="passage-${second.id}"`);
      // The thread quotes the passage as the page shows it.
      expect(html).toContain(`<blockquote>${SELECTED}</blockquote>`);
      // The text is otherwise as rendered: the link keeps its target.
      expect(html).toContain('<a href="https://example.org/charter">');
    });

    test('a resolved thread marks nothing', async () => {
      const first = comments().find((c) => c.anchor)!;
      await follow(wanda, await post(wanda, `/proposals/${id}/comments/${first.id}/resolve`, {}));
      const html = await page();
      expect(html).not.toContain(`data-thread="${first.id}"`);
      expect(html).not.toContain(`id="passage-${first.id}"`);
      expect(html).not.toContain(`href="#passage-${first.id}"`);
      expect(html).toContain('<mark class="passage"');
    });
  });

  describe('on a consolidation', () => {
    test('a quote of the rendered candidate text is anchored and marked in the text', async () => {
      const w = t.ctx.meta.all('users').find((u) => u.email === 'wanda@example.org')!;
      const chair = await makeUser(t.ctx, {
        email: 'chair@example.org',
        name: 'Chair',
        roles: ['chair'],
        groups: [],
        password: PASSWORD,
      });
      await shareProposal(t.ctx, { id: w.id, email: w.email, name: w.name, roles: w.roles, groups: w.groups }, id);
      const c = await createConsolidation(t.ctx, chair.actor, SLUG, { proposals: [id], summary: 'Monthly' });
      const res = await post(wanda, `/consolidations/${c.id}/comments`, { body: 'Still monthly?', quote: SELECTED });
      expect(res.status).toBe(303);
      const made = comments().at(-1)!;
      expect(made.anchor?.quote).toBe(P1);
      const html = (await wanda.get(`/consolidations/${c.id}`)).text;
      expect(html).toContain(
        `<strong><mark class="passage" data-thread="${made.id}">meets every month</mark></strong>`,
      );
      expect(html).toContain(`id="passage-${made.id}"`);
      expect(html).toContain(`href="#thread-${made.id}"`);
      expect(html).toContain(`href="#passage-${made.id}"`);
      // The thread sits beside its paragraph, as on a proposal (not in the list at the end).
      const row = /<div class="prow has-threads"[^>]*>([\s\S]*?)<\/div>\s*<\/div>\s*<\/div>/.exec(html)?.[1] ?? '';
      expect(row).toContain('meets every month');
      expect(html.indexOf(`id="thread-${made.id}"`)).toBeLessThan(html.indexOf('id="comments-h"'));
    });
  });
});
