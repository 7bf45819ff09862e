/**
 * Size limits (issue 9, item 2; docs/API.md "Limits"), through the forms: a text over 1 MB or a
 * comment over 64 KB is refused with 413 and the form shown again, and nothing is saved; a form
 * body beyond the parser's cap (derived from the same limits) is 413 `body_too_large`. The
 * API's side is in proposalsApi.test.ts ("limits and bad input").
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  MAX_COMMENT_BYTES,
  MAX_FORM_BODY_BYTES,
  MAX_JSON_BODY_BYTES,
  MAX_TEXT_BYTES,
} from '../../server/domain/limits.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { csrfOf, makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';

describe('http/limits', () => {
  const SLUG = 'terms-of-reference';
  const PASSWORD = 'correct horse battery staple 9';
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let dana: Agent;
  let proposalId: number;

  beforeAll(async () => {
    t = await openTestApp({ clock: testClock('2026-03-01T09:00:00Z') });
    const u = await makeUser(t.ctx, {
      email: 'dana@example.org',
      name: 'Dana Drafter',
      roles: ['member'],
      groups: ['wg-strategy'],
      password: PASSWORD,
    });
    const p = await createProposal(t.ctx, u.actor, SLUG, { title: 'Small', rationale: '', text: 'A text.\n' });
    await shareProposal(t.ctx, u.actor, p.id);
    proposalId = p.id;
    dana = await signedIn(t.app, u.email, PASSWORD);
  });
  afterAll(() => t.cleanup());

  const proposals = () => t.ctx.meta.all('proposals').length;
  const comments = () => t.ctx.meta.all('comments').length;

  test('the body caps leave room for a largest text, written in its costliest encoding, and not much more', () => {
    expect(MAX_JSON_BODY_BYTES).toBeGreaterThanOrEqual(2 * MAX_TEXT_BYTES);
    expect(MAX_JSON_BODY_BYTES).toBeLessThan(2.5 * MAX_TEXT_BYTES);
    expect(MAX_FORM_BODY_BYTES).toBeGreaterThanOrEqual(3 * MAX_TEXT_BYTES);
    expect(MAX_FORM_BODY_BYTES).toBeLessThan(3.5 * MAX_TEXT_BYTES);
  });

  test('new-proposal form: a text of 1 MB + 1 byte → 413 text_too_large, the form again, nothing saved; 1 MB is saved', async () => {
    const before = proposals();
    const csrf = await csrfOf(dana);
    const big = await dana
      .post(`/documents/${SLUG}/proposals`)
      .type('form')
      .send({ _csrf: csrf, title: 'Big', rationale: '', text: 'a'.repeat(MAX_TEXT_BYTES + 1) });
    expect(big.status).toBe(413);
    expect(big.text).toContain('text_too_large');
    expect(proposals()).toBe(before);
    const exact = await dana
      .post(`/documents/${SLUG}/proposals`)
      .type('form')
      .send({ _csrf: csrf, title: 'Exact', rationale: '', text: 'a'.repeat(MAX_TEXT_BYTES) });
    expect(exact.status).toBe(303);
    expect(proposals()).toBe(before + 1);
  });

  test('a form body beyond the cap → 413 body_too_large, nothing saved', async () => {
    const before = proposals();
    const csrf = await csrfOf(dana);
    const res = await dana
      .post(`/documents/${SLUG}/proposals`)
      .type('form')
      .send(`_csrf=${csrf}&title=Huge&text=${'%0A'.repeat(Math.ceil(MAX_FORM_BODY_BYTES / 3) + 1)}`);
    expect(res.status).toBe(413);
    expect(res.text).toContain('body_too_large');
    expect(proposals()).toBe(before);
  });

  test('comment form: 64 KB + 1 byte → 413 comment_too_large, nothing saved; 64 KB is saved', async () => {
    const before = comments();
    const csrf = await csrfOf(dana);
    const big = await dana
      .post(`/proposals/${proposalId}/comments`)
      .type('form')
      .send({ _csrf: csrf, body: 'c'.repeat(MAX_COMMENT_BYTES + 1) });
    expect(big.status).toBe(413);
    expect(big.text).toContain('comment_too_large');
    expect(comments()).toBe(before);
    const ok = await dana
      .post(`/proposals/${proposalId}/comments`)
      .type('form')
      .send({ _csrf: csrf, body: 'c'.repeat(MAX_COMMENT_BYTES) });
    expect(ok.status).toBe(303);
    expect(comments()).toBe(before + 1);
  });
});
