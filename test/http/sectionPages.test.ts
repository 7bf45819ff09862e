/**
 * Editing one section through the pages (issue 15): the document page offers "Propose a change
 * to this section" beside each heading to who may propose; the new-proposal form then holds that
 * section only and the saved proposal has it spliced into the published text; the proposal page
 * offers "Edit this section" to who may revise it, with a form holding that section only. Both
 * forms preview, and Save is their first submit button (Enter saves).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import request from 'supertest';
import { proposalText } from '../../server/services/proposals/read.js';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { alertCode, formOf, forms, textareaOf } from '../helpers/pages.js';

describe('http/sectionPages', () => {
  const PASSWORD = 'a long enough password';
  const SLUG = 'terms-of-reference';
  const CHAIR = '3-chair';
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let app: Express;
  let wanda: Agent; // wg-strategy: may propose and edit
  let pete: Agent; // no working group
  let published: string;
  let chair: string;

  const { post } = forms('/drafts');
  const proposal = (id: number) => t.ctx.meta.get('proposals', id)!;
  const hidden = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
  /** The submit buttons of a form, in DOM order, as their name and words. */
  const submits = (form: string) =>
    [...form.matchAll(/<button type="submit"([^>]*)>([^<]*)</g)].map((m) => ({
      name: /name="([^"]*)"/.exec(m[1])?.[1] ?? '',
      words: m[2].trim(),
    }));

  beforeAll(async () => {
    t = await openTestApp({ clock: testClock('2026-03-01T09:00:00Z') });
    app = t.app;
    const [w, p] = await Promise.all([
      makeUser(t.ctx, {
        email: 'wanda@example.org',
        name: 'Wanda',
        roles: ['member'],
        groups: ['wg-strategy'],
        password: PASSWORD,
      }),
      makeUser(t.ctx, { email: 'pete@example.org', name: 'Pete', roles: ['member'], groups: [], password: PASSWORD }),
    ]);
    [wanda, pete] = await Promise.all([signedIn(app, w.email, PASSWORD), signedIn(app, p.email, PASSWORD)]);
    published = (await request(app).get(`/documents/${SLUG}/versions/1.md`)).text;
    const start = published.indexOf('## 3. Chair');
    chair = published.slice(start, published.indexOf('\n## ', start)).trimEnd() + '\n';
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  describe('the document page', () => {
    test('each heading offers "Propose a change to this section" to who may propose, nobody else', async () => {
      const page = (await wanda.get(`/documents/${SLUG}`)).text;
      const href = `/documents/${SLUG}/proposals/new?section=${CHAIR}`;
      expect(page).toContain(`<h2 id="${CHAIR}">3. Chair</h2>`);
      expect(page).toMatch(
        new RegExp(`<a href="${href.replace(/\?/g, '\\?')}"[^>]*>Propose a change to this section</a>`),
      );
      expect(page.match(/>Propose a change to this section</g)).toHaveLength(10);
      expect((await pete.get(`/documents/${SLUG}`)).text).not.toContain('Propose a change to this section');
      expect((await request(app).get(`/documents/${SLUG}`)).text).not.toContain('Propose a change to this section');
    });
  });

  describe('proposing a change to one section', () => {
    test('the form holds the section only, Save first and Preview second', async () => {
      const res = await wanda.get(`/documents/${SLUG}/proposals/new?section=${CHAIR}`);
      expect(res.status).toBe(200);
      expect(textareaOf(res.text, 'text')).toBe(chair);
      const form = formOf(res.text, `/documents/${SLUG}/proposals`);
      expect(hidden(form, 'section')).toBe(CHAIR);
      // A Word file is a whole text: no upload on a one-section form.
      expect(res.text).not.toContain('/proposals/docx');
      expect(submits(form).map((b) => b.name)).toEqual(['save', 'preview']);
      expect((await wanda.get(`/documents/${SLUG}/proposals/new?section=nothing-here`)).status).toBe(404);
      expect((await pete.get(`/documents/${SLUG}/proposals/new?section=${CHAIR}`)).status).toBe(403);
    });

    test('the whole-text form too has Save first and a preview', async () => {
      const res = await wanda.get(`/documents/${SLUG}/proposals/new`);
      const form = formOf(res.text, `/documents/${SLUG}/proposals`);
      expect(submits(form).map((b) => b.name)).toEqual(['save', 'preview']);
      const preview = await post(wanda, `/documents/${SLUG}/proposals`, {
        title: 'Whole',
        rationale: '',
        text: published.replace('The Group is advisory', 'The Group is purely advisory'),
        baseVersion: '1',
        preview: '1',
      });
      expect(preview.status).toBe(200);
      expect(preview.text).toContain('Nothing has been saved yet');
      expect(preview.text).toContain('<ins>purely </ins>');
      expect(t.ctx.meta.all('proposals')).toHaveLength(0);
    });

    test('a preview of the section saves nothing; a bad section is refused with the text kept', async () => {
      const text = chair.replace('The Group is led by a Chair', 'The Group is led by an elected Chair');
      const res = await post(wanda, `/documents/${SLUG}/proposals`, {
        title: 'Elect the Chair',
        rationale: '',
        text,
        baseVersion: '1',
        section: CHAIR,
        preview: '1',
      });
      expect(res.status).toBe(200);
      expect(res.text).toContain('Nothing has been saved yet');
      expect(res.text).toMatch(/<ins>[^<]*elected[^<]*<\/ins>/);
      expect(textareaOf(res.text, 'text')).toBe(text);
      expect(hidden(res.text, 'section')).toBe(CHAIR);
      const bad = await post(wanda, `/documents/${SLUG}/proposals`, {
        title: 'Elect the Chair',
        rationale: '',
        text: text.replace('## 3. Chair', '### 3. Chair'),
        baseVersion: '1',
        section: CHAIR,
      });
      expect(bad.status).toBe(400);
      expect(alertCode(bad.text)).toBe('section_heading');
      expect(textareaOf(bad.text, 'text')).toBe(text.replace('## 3. Chair', '### 3. Chair'));
      expect(t.ctx.meta.all('proposals')).toHaveLength(0);
    });

    test('saving splices the section into the published text', async () => {
      const text = chair.replace('The Group is led by a Chair', 'The Group is led by an elected Chair');
      const res = await post(wanda, `/documents/${SLUG}/proposals`, {
        title: 'Elect the Chair',
        rationale: '',
        text,
        baseVersion: '1',
        section: CHAIR,
      });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/proposals/1');
      expect(await proposalText(t.ctx, proposal(1))).toBe(published.replace(chair, text));
    });
  });

  describe('editing one section of a proposal', () => {
    test('the proposal page offers "Edit this section" to its editors only', async () => {
      const page = (await wanda.get('/proposals/1')).text;
      expect(page).toMatch(new RegExp(`<a href="/proposals/1/edit\\?section=${CHAIR}"[^>]*>Edit this section</a>`));
      // Ten sections and the text's own title heading, which the proposal page shows.
      // Every heading but the title (the text's one top-level heading: its section is the whole text).
      expect(page.match(/>Edit this section</g)).toHaveLength(10);
      expect(page).not.toContain('section=terms-of-reference-of-the-multistakeholder-advisory-group');
      await post(wanda, '/proposals/1/share', {});
      const theirs = await pete.get('/proposals/1');
      expect(theirs.status).toBe(200);
      expect(theirs.text).not.toContain('Edit this section');
    });

    test('the edit form holds the section only, Save first; preview, refusal and save', async () => {
      const res = await wanda.get(`/proposals/1/edit?section=${CHAIR}`);
      expect(res.status).toBe(200);
      const now = await proposalText(t.ctx, proposal(1));
      const start = now.indexOf('## 3. Chair');
      const current = now.slice(start, now.indexOf('\n## ', start)).trimEnd() + '\n';
      expect(textareaOf(res.text, 'text')).toBe(current);
      const form = formOf(res.text, '/proposals/1/edit');
      expect(hidden(form, 'section')).toBe(CHAIR);
      expect(submits(form).map((b) => b.name)).toEqual(['save', 'preview']);
      expect((await wanda.get('/proposals/1/edit?section=nothing-here')).status).toBe(404);
      expect((await pete.get(`/proposals/1/edit?section=${CHAIR}`)).status).toBe(403);

      const text = current.replace('renewed once', 'renewed twice');
      const fields = { title: proposal(1).title, rationale: '', text, head: proposal(1).head, section: CHAIR };
      const preview = await post(wanda, '/proposals/1/edit', { ...fields, preview: '1' });
      expect(preview.status).toBe(200);
      expect(preview.text).toContain('Nothing has been saved yet');
      expect(preview.text).toContain('<ins>twice</ins>');
      expect(proposal(1).revisions).toBe(1);

      const bad = await post(wanda, '/proposals/1/edit', { ...fields, text: `${text}\n## 3b. More\n\nx\n` });
      expect(bad.status).toBe(400);
      expect(alertCode(bad.text)).toBe('section_outline');
      expect(proposal(1).revisions).toBe(1);

      const saved = await post(wanda, '/proposals/1/edit', fields);
      expect(saved.status).toBe(303);
      expect(proposal(1).revisions).toBe(2);
      expect(await proposalText(t.ctx, proposal(1))).toBe(now.replace(current, text));
    });

    test('the whole-text edit form has Save first too', async () => {
      const res = await wanda.get('/proposals/1/edit');
      expect(submits(formOf(res.text, '/proposals/1/edit')).map((b) => b.name)).toEqual(['save', 'preview']);
    });
  });
});
