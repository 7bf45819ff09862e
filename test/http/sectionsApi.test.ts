/**
 * Editing one section through the JSON API (issue 15): `PUT /proposals/:id/sections/:anchor`
 * splices the section into the proposal's current text with the full revise's rules (who may,
 * `head` by compare-and-swap, limits), an unknown anchor is 404 `section_not_found`, a section
 * that would change the outline is 400; and `POST /documents/:slug/proposals` with `section`
 * makes a proposal whose text is the published one with that section replaced.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { MAX_TEXT_BYTES } from '../../server/domain/limits.js';
import { createProposal, withdrawProposal } from '../../server/services/proposals/proposals.js';
import { proposalText } from '../../server/services/proposals/read.js';
import type { ProposalRecord } from '../../server/store/meta/schema.js';
import { linkedSectionsOf, MAX_SECTION_LINKS, spliceText } from '../../server/services/textSections.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { authOf, makeApiUsers, type ApiUser } from '../helpers/users.js';

describe('http/sectionsApi', () => {
  const API = '/api/v1';
  const SLUG = 'terms-of-reference'; // owned by wg-strategy
  const CHAIR_SECTION = '3-chair';

  let t: Awaited<ReturnType<typeof openTestApp>>;
  let U: Record<'drafter' | 'same' | 'other', ApiUser>;
  let published: string;

  const record = (id: number): ProposalRecord => t.ctx.meta.get('proposals', id)!;
  /** The section of `text` from its heading line to the next `## ` heading. */
  const chairOf = (text: string) => {
    const start = text.indexOf('## 3. Chair');
    return text.slice(start, text.indexOf('\n## ', start) + 1);
  };

  async function draft(): Promise<ProposalRecord> {
    return createProposal(t.ctx, U.drafter.actor, SLUG, { title: 'Sections', text: published });
  }

  const put = (id: number, anchor: string, body: object, who: ApiUser | null = U.drafter) =>
    request(t.app).put(`${API}/proposals/${id}/sections/${anchor}`).set(authOf(who)).send(body);

  /** A refusal: its status and code, and nothing saved. */
  async function refused(id: number, res: PromiseLike<request.Response>, status: number, code: string) {
    const before = JSON.stringify(record(id));
    const r = await res;
    expect([r.status, r.body?.error?.code]).toEqual([status, code]);
    expect(JSON.stringify(record(id))).toBe(before);
  }

  beforeAll(async () => {
    t = await openTestApp({ clock: testClock('2026-03-01T09:00:00Z') });
    U = await makeApiUsers(t.ctx, {
      drafter: { email: 'drafter@example.org', name: 'Dana Drafter', roles: ['member'], groups: ['wg-strategy'] },
      same: { email: 'same@example.org', name: 'Sam Samegroup', roles: ['member'], groups: ['wg-strategy'] },
      other: { email: 'other@example.org', name: 'Olga Other', roles: ['member'], groups: ['wg-wsp'] },
    });
    published = (await request(t.app).get(`${API}/documents/${SLUG}`)).body.text;
    expect(chairOf(published)).toMatch(/^## 3\. Chair\n\n/);
  }, 60_000);

  afterAll(async () => {
    await t?.cleanup();
  });

  describe('GET /proposals/:id/sections/:anchor', () => {
    test('one section of the current text, with the head to revise it on', async () => {
      const p = await draft();
      const res = await request(t.app).get(`${API}/proposals/${p.id}/sections/${CHAIR_SECTION}`).set(U.drafter.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        anchor: CHAIR_SECTION,
        heading: '3. Chair',
        level: 2,
        text: chairOf(published).trimEnd() + '\n',
        head: p.head,
      });
      const get = (anchor: string, who: ApiUser | null) =>
        request(t.app).get(`${API}/proposals/${p.id}/sections/${anchor}`).set(authOf(who));
      const none = await get('no-such-section', U.drafter);
      expect([none.status, none.body.error.code]).toEqual([404, 'section_not_found']);
      const hidden = await get(CHAIR_SECTION, U.other);
      expect([hidden.status, hidden.body.error.code]).toEqual([404, 'proposal_not_found']);
      const malformed = await get('a%20b', U.drafter);
      expect([malformed.status, malformed.body.error.code]).toEqual([404, 'section_not_found']);
    });
  });

  describe('PUT /proposals/:id/sections/:anchor', () => {
    test('splices the section into the current text and answers the new head', async () => {
      const p = await draft();
      const section = '## 3. Chair\n\nThe Group elects its Chair for two years.\n';
      const res = await put(p.id, CHAIR_SECTION, { text: section, head: p.head });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ head: record(p.id).head });
      expect(record(p.id).revisions).toBe(2);
      const text = await proposalText(t.ctx, record(p.id));
      expect(text).toBe(published.replace(chairOf(published), section + '\n'));
    });

    test('another editor of the group may, with the head they saw; a stale head is 409 and saves nothing', async () => {
      const p = await draft();
      const first = await put(p.id, '1-mandate', { text: '## 1. Mandate\n\nShort.\n', head: p.head }, U.same);
      expect(first.status).toBe(200);
      await refused(
        p.id,
        put(p.id, '1-mandate', { text: '## 1. Mandate\n\nOther.\n', head: p.head }),
        409,
        'stale_head',
      );
    });

    test('refusals with their codes', async () => {
      const p = await draft();
      const head = p.head;
      await refused(p.id, put(p.id, 'no-such-section', { text: '## X\n', head }), 404, 'section_not_found');
      await refused(p.id, put(p.id, CHAIR_SECTION, { text: '### 3. Chair\n\nLower.\n', head }), 400, 'section_heading');
      await refused(p.id, put(p.id, CHAIR_SECTION, { text: 'No heading.\n', head }), 400, 'section_heading');
      await refused(
        p.id,
        put(p.id, CHAIR_SECTION, { text: '## 3. Chair\n\nA.\n\n## 3a. Vice-chair\n\nB.\n', head }),
        400,
        'section_outline',
      );
      await refused(
        p.id,
        put(p.id, CHAIR_SECTION, { text: '## 3. Chair\n\n```\nopen\n', head }),
        400,
        'section_spills',
      );
      await refused(p.id, put(p.id, CHAIR_SECTION, { text: 42, head }), 400, 'invalid_text');
      await refused(p.id, put(p.id, CHAIR_SECTION, { text: '## 3. Chair\n' }), 400, 'invalid_head');
      await refused(p.id, put(p.id, CHAIR_SECTION, { text: '## 3. Chair\n', head, extra: 1 }), 400, 'unknown_field');
      // The whole text after the splice is held to the text limit.
      const long = `## 3. Chair\n\n${'x'.repeat(MAX_TEXT_BYTES - 100)}\n`;
      await refused(p.id, put(p.id, CHAIR_SECTION, { text: long, head }), 413, 'text_too_large');
      // Who may not edit: another group's member 404 (a draft they may not see), the public 401.
      await refused(
        p.id,
        put(p.id, CHAIR_SECTION, { text: '## 3. Chair\n', head }, U.other),
        404,
        'proposal_not_found',
      );
      await refused(p.id, put(p.id, CHAIR_SECTION, { text: '## 3. Chair\n', head }, null), 401, 'unauthenticated');
      await refused(999, put(999, CHAIR_SECTION, { text: '## 3. Chair\n', head }), 404, 'proposal_not_found');
      await withdrawProposal(t.ctx, U.drafter.actor, p.id);
      await refused(p.id, put(p.id, CHAIR_SECTION, { text: '## 3. Chair\n', head }), 409, 'not_editable');
    });
  });

  describe('a text long enough for its sections to be read off the event loop', () => {
    // 3,000 more sections: past the renderer's inline limit, so sections are found and spliced on
    // the worker pool and the refusals come back from a thread.
    const long = () => published + Array.from({ length: 3000 }, (_, i) => `\n## Extra ${i}\n\nWords.\n`).join('');

    test('a section is read, spliced as inline, and refused with the same codes', async () => {
      const p = await createProposal(t.ctx, U.drafter.actor, SLUG, { title: 'Long', text: long() });
      const before = await proposalText(t.ctx, p);
      expect(before.length).toBeGreaterThan(64 * 1024);
      const got = await request(t.app).get(`${API}/proposals/${p.id}/sections/extra-2500`).set(U.drafter.auth);
      expect([got.status, got.body.heading, got.body.text]).toEqual([200, 'Extra 2500', '## Extra 2500\n\nWords.\n']);
      await refused(
        p.id,
        put(p.id, 'extra-10', { text: '## Extra 10\n\n## Beside\n', head: p.head }),
        400,
        'section_outline',
      );
      await refused(p.id, put(p.id, 'extra-10', { text: 'No heading.\n', head: p.head }), 400, 'section_heading');
      await refused(p.id, put(p.id, 'extra-9999', { text: '## Extra\n', head: p.head }), 404, 'section_not_found');
      const ok = await put(p.id, 'extra-2999', { text: '## Extra, last\n\nChanged.\n', head: p.head });
      expect(ok.status).toBe(200);
      expect(await proposalText(t.ctx, record(p.id))).toBe(
        spliceText(before, 'extra-2999', '## Extra, last\n\nChanged.\n'),
      );
    });

    test('a page links MAX_SECTION_LINKS sections at most, a lone title never', () => {
      const text = long();
      const links = linkedSectionsOf(text);
      expect(links).toHaveLength(MAX_SECTION_LINKS);
      expect(links[0].level).toBe(2);
      expect(linkedSectionsOf('# Title\n\n## One\n\n## Two\n').map((s) => s.id)).toEqual(['one', 'two']);
      expect(linkedSectionsOf('# One\n\n# Two\n').map((s) => s.id)).toEqual(['one', 'two']);
    });
  });

  describe('POST /documents/:slug/proposals with a section', () => {
    test('the text is the published one with the section replaced', async () => {
      const section = '## 3. Chair\n\nThe Chair is elected.\n';
      const res = await request(t.app)
        .post(`${API}/documents/${SLUG}/proposals`)
        .set(U.drafter.auth)
        .send({ title: 'Elect the Chair', text: section, section: CHAIR_SECTION });
      expect(res.status).toBe(201);
      expect(await proposalText(t.ctx, record(res.body.id))).toBe(
        published.replace(chairOf(published), section + '\n'),
      );
    });

    test('an unknown section is 404, a bad one 400, and nothing is made', async () => {
      const count = t.ctx.meta.all('proposals').length;
      const post = (body: object) =>
        request(t.app).post(`${API}/documents/${SLUG}/proposals`).set(U.drafter.auth).send(body);
      const a = await post({ title: 'T', text: '## Nope\n', section: 'nope' });
      expect([a.status, a.body.error.code]).toEqual([404, 'section_not_found']);
      const b = await post({ title: 'T', text: '# Chair\n', section: CHAIR_SECTION });
      expect([b.status, b.body.error.code]).toEqual([400, 'section_heading']);
      const c = await post({ title: 'T', text: '## 3. Chair\n', section: 7 });
      expect([c.status, c.body.error.code]).toEqual([400, 'invalid_section']);
      // A title on two lines and a section without its heading: both problems at once.
      const d = await post({ title: 'Two\nlines', text: 'No heading.\n', section: CHAIR_SECTION });
      expect([d.status, d.body.error.code]).toEqual([400, 'invalid_proposal']);
      expect(d.body.error.fields.map((f: { path: string; code: string }) => [f.path, f.code])).toEqual([
        ['title', 'invalid_title'],
        ['text', 'section_heading'],
      ]);
      // The same through the service alone (no schema before it): a text too large is reported
      // with the title's problem, not alone.
      const e = await createProposal(t.ctx, U.drafter.actor, SLUG, {
        title: 'Two\nlines',
        text: 'x'.repeat(MAX_TEXT_BYTES + 1),
        section: CHAIR_SECTION,
      }).catch((err: { code: string; data: { fields?: { path: string; code: string }[] } }) => err);
      expect('code' in e && [e.code, e.data.fields?.map((f) => [f.path, f.code])]).toEqual([
        'invalid_proposal',
        [
          ['title', 'invalid_title'],
          ['text', 'text_too_large'],
        ],
      ]);
      expect(t.ctx.meta.all('proposals')).toHaveLength(count);
    });
  });
});
