/**
 * Rendered markdown is kept, and what may take long is bounded (issue 9, item 2): a second
 * view of the same text renders nothing again; the worker pool stops a task past its time
 * limit and the reader gets the text as escaped plain text (kept, so the next view costs
 * nothing); a full queue is refused with 503 `busy` and Retry-After instead of waiting.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../../server/app.js';
import { DomainError } from '../../server/domain/errors.js';
import { WorkPool } from '../../server/http/offload/pool.js';
import { Renderer } from '../../server/http/render/renderer.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestData, testClock, type TestData } from '../helpers/data.js';

describe('http/renderCache', () => {
  const PASSWORD = 'correct horse battery staple 9';
  let t: TestData;
  let renderer: Renderer;
  let app: ReturnType<typeof createApp>;
  let dana: Agent;
  let proposalId: number;
  const pools: WorkPool[] = [];

  beforeAll(async () => {
    t = await openTestData({ clock: testClock('2026-03-01T09:00:00Z') });
    renderer = new Renderer(new WorkPool({ threads: 1, maxQueue: 4, retryAfter: 5 }));
    pools.push(renderer.pool);
    app = createApp({
      ctx: t.ctx,
      config: { baseUrl: 'http://ratify.test', writeLimit: 0 },
      sessions: t.sessions,
      renderer,
    });
    const u = await makeUser(t.ctx, {
      email: 'dana@example.org',
      name: 'Dana Drafter',
      roles: ['member'],
      groups: ['wg-strategy'],
      password: PASSWORD,
    });
    // Large enough to go to the worker pool (over the inline size).
    const text = Array.from(
      { length: 400 },
      (_, i) => `Paragraph ${i} with *emphasis* and a [link](https://example.org/${i}).`,
    ).join('\n\n');
    const p = await createProposal(t.ctx, u.actor, 'terms-of-reference', {
      title: 'Cached',
      rationale: 'Because **reasons**.',
      text,
    });
    await shareProposal(t.ctx, u.actor, p.id);
    await addComment(t.ctx, u.actor, proposalCommentable(t.ctx, t.ctx.meta.get('proposals', p.id)!), {
      body: '| a | b |\n|---|---|\n| 1 | 2 |',
    });
    proposalId = p.id;
    dana = await signedIn(app, u.email, PASSWORD);
  });
  afterAll(async () => {
    for (const p of pools) await p.close();
    await t.cleanup();
  });

  test('a second view of a published text and of a proposal page renders nothing again', async () => {
    for (const path of ['/documents/terms-of-reference', `/proposals/${proposalId}`]) {
      const first = await dana.get(path);
      expect(first.status).toBe(200);
      const rendered = renderer.stats.rendered;
      const hits = renderer.stats.hits;
      const second = await dana.get(path);
      expect(second.status).toBe(200);
      expect(renderer.stats.rendered).toBe(rendered);
      expect(renderer.stats.hits).toBeGreaterThan(hits);
    }
    // The proposal's text went through the pool (it is larger than what is rendered inline).
    expect(renderer.pool.stats.started).toBeGreaterThan(0);
  });

  test('a render past its time limit is stopped; the reader gets the text escaped, and the answer is kept', async () => {
    const slow = new Renderer(new WorkPool({ threads: 1, maxQueue: 4, retryAfter: 5 }), { renderMs: 1 });
    pools.push(slow.pool);
    const text = '<b>' + '*'.repeat(40_000) + 'a' + '*'.repeat(40_000);
    const epoch = slow.coarseEpoch;
    const html = await slow.markdown(text, 0);
    expect(slow.pool.stats.timedOut).toBe(1);
    expect(html).toContain('<pre class="unformatted">&lt;b&gt;***');
    expect(html).not.toContain('<b>');
    // Whatever a page keeps (render/fragments.ts) is keyed by this epoch: it moves when a coarse answer is made.
    expect(slow.coarseEpoch).toBeGreaterThan(epoch);
    const made = slow.coarseEpoch;
    expect(await slow.markdown(text, 0)).toBe(html);
    expect(slow.pool.stats.started).toBe(1);
    expect(slow.coarseEpoch).toBe(made);
  });

  test('the coarse epoch moves when a kept coarse answer is due to be tried again, whether or not it is asked for', async () => {
    const slow = new Renderer(new WorkPool({ threads: 1, maxQueue: 4, retryAfter: 5 }), {
      renderMs: 1,
      retryFailedMs: 300,
    });
    pools.push(slow.pool);
    await slow.markdown('<b>' + '*'.repeat(40_000) + 'a' + '*'.repeat(40_000), 0);
    const made = slow.coarseEpoch;
    expect(slow.coarseEpoch).toBe(made);
    await new Promise((r) => setTimeout(r, 350));
    // Pieces of pages kept with the coarse answer (keyed by the epoch) are let go now, as the renderer's own.
    expect(slow.coarseEpoch).toBeGreaterThan(made);
    const later = slow.coarseEpoch;
    expect(slow.coarseEpoch).toBe(later);
  });

  test('the rendered diff of large texts runs on the pool once, and past its time limit the page shows the source diff', async () => {
    const para = (i: number, w: string) => `Paragraph ${i} is **${w}** with a [link](https://example.org/${i}).`;
    const from = Array.from({ length: 400 }, (_, i) => para(i, 'bold')).join('\n\n');
    const to = from.replace(para(200, 'bold'), para(200, 'brave'));
    const blocks = await renderer.renderedDiff(from, to, 2);
    expect(blocks?.filter((b) => b.kind === 'changed').map((b) => b.html)).toEqual([
      '<p>Paragraph 200 is <strong><del>bold</del><ins>brave</ins></strong> with a <a href="https://example.org/200">link</a>.</p>',
    ]);
    const started = renderer.pool.stats.started;
    expect(await renderer.renderedDiff(from, to, 2)).toEqual(blocks);
    expect(renderer.pool.stats.started).toBe(started);

    const slow = new Renderer(new WorkPool({ threads: 1, maxQueue: 4, retryAfter: 5 }), { diffMs: 1 });
    pools.push(slow.pool);
    expect(await slow.renderedDiff(from, to, 2)).toBeNull();
    expect(slow.pool.stats.timedOut).toBe(1);
    const slowApp = createApp({
      ctx: t.ctx,
      config: { baseUrl: 'http://ratify.test', writeLimit: 0 },
      sessions: t.sessions,
      renderer: slow,
    });
    const agent = await signedIn(slowApp, 'dana@example.org', PASSWORD);
    const res = await agent.get(`/proposals/${proposalId}?tab=changes`);
    expect(res.status).toBe(200);
    // The proposal's text is large: its rendered diff timed out, so the source diff is shown.
    expect(res.text).toContain('Shown as source: formatting the changes took too long.');
    expect(res.text).toContain('<div class="diff inline">');
  });

  test('a full queue is refused at once: 503 busy with Retry-After, nothing queued without bound', async () => {
    const pool = new WorkPool({ threads: 1, maxQueue: 1, retryAfter: 7 });
    pools.push(pool);
    // The three are asked for in one go (the pool counts and refuses before its first await), so
    // the first two cannot have finished when the third comes: a small text is enough.
    const text = 'x\n\ny\n';
    const running = pool.run({ kind: 'paragraphs', text, by: 0 }, 10_000);
    const waiting = pool.run({ kind: 'paragraphs', text, by: 0 }, 10_000);
    const refused = await pool.run({ kind: 'paragraphs', text, by: 0 }, 10_000).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(DomainError);
    expect((refused as DomainError).kind).toBe('unavailable');
    expect((refused as DomainError).code).toBe('busy');
    expect((refused as DomainError).data.retryAfter).toBe(7);
    await Promise.all([running, waiting]);
    expect(pool.stats.refused).toBe(1);
  });

  test('the busy refusal reaches a reader as 503 with Retry-After', async () => {
    const full = new Renderer(new WorkPool({ threads: 1, maxQueue: 0, retryAfter: 9 }), { inlineBytes: 0 });
    pools.push(full.pool);
    const busyApp = createApp({
      ctx: t.ctx,
      config: { baseUrl: 'http://ratify.test', writeLimit: 0 },
      sessions: t.sessions,
      renderer: full,
    });
    // Hold the only thread, then ask for a page that needs it.
    const hold = full.pool.run({ kind: 'paragraphs', text: 'x\n\n'.repeat(40_000), by: 0 }, 10_000);
    const res = await request(busyApp).get('/documents/terms-of-reference').set('Accept', 'text/html');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('9');
    expect(res.text).toContain('busy');
    // The held task has done its part: stop its thread rather than wait ~2 s for it to finish.
    // (Its promise is settled with or without an answer; listened to before the thread is stopped.)
    const settled = hold.catch(() => undefined);
    await full.pool.close();
    await settled;
  });

  test('the pool listens for thread failures once, however many tasks it runs (no listener a task); piscina is loaded at the first task', async () => {
    const pool = new WorkPool({ threads: 1, maxQueue: 20, retryAfter: 5 });
    try {
      expect((pool as unknown as { piscina: unknown }).piscina).toBeNull();
      for (let i = 0; i < 12; i++) await pool.run({ kind: 'paragraphs', text: `x${i}\n`, by: 0 }, 10_000);
      const piscina = await (pool as unknown as { piscina: Promise<{ listenerCount(e: string): number }> }).piscina;
      expect(piscina.listenerCount('error')).toBe(1);
    } finally {
      await pool.close();
    }
  });
});
