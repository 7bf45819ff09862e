/**
 * The proposal pages, driven as a person would: sign in through the form, follow the forms
 * (with their CSRF tokens), read the pages. A working group drafts, revises and shares a change
 * to the terms of reference; a second editor's stale save is refused with their text kept;
 * members comment on passages; anchors go out of date; nothing reaches the public.
 */
import { alertCode, follow, forms, section, textareaOf } from '../helpers/pages.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import type { Express } from 'express';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { proposalText } from '../../server/services/proposals/read.js';
import { publishVersion } from '../../server/services/publishVersion.js';

describe('http/proposalPages', () => {
  const PASSWORD = 'a long enough password';
  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let app: Express;
  let wanda: Agent; // wg-strategy, drafts the proposal
  let walt: Agent; // wg-strategy, the second editor
  let pete: Agent; // a member in no working group
  let published: string;

  const SLUG = 'terms-of-reference';
  const CHATHAM = 'Closed meetings of the Group are held under the Chatham House Rule. ';
  const IN_PERSON = 'Members are required to participate in person in the closed meetings of the Group.';

  const proposals = () => t.ctx.meta.all('proposals');
  const comments = () => t.ctx.meta.all('comments').sort((a, b) => a.id - b.id);
  const proposal = (id: number) => t.ctx.meta.get('proposals', id)!;

  const { post } = forms('/drafts');

  const hidden = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
  /** The paragraph rows of the text tab, each with its text and threads. */
  const rows = (html: string) => section(html, 'text-h').split('<div class="prow').slice(1);

  beforeAll(async () => {
    t = await openTestApp({ clock });
    app = t.app;
    const [w, wa, pe] = await Promise.all([
      makeUser(t.ctx, {
        email: 'wanda@example.org',
        name: 'Wanda Strategy',
        roles: ['member'],
        groups: ['wg-strategy'],
        password: PASSWORD,
      }),
      makeUser(t.ctx, {
        email: 'walt@example.org',
        name: 'Walt Second',
        roles: ['member'],
        groups: ['wg-strategy'],
        password: PASSWORD,
      }),
      makeUser(t.ctx, {
        email: 'pete@example.org',
        name: 'Pete Plain',
        roles: ['member'],
        groups: [],
        password: PASSWORD,
      }),
    ]);
    [wanda, walt, pete] = await Promise.all([
      signedIn(app, w.email, PASSWORD),
      signedIn(app, wa.email, PASSWORD),
      signedIn(app, pe.email, PASSWORD),
    ]);
    published = (await request(app).get(`/documents/${SLUG}/versions/1.md`)).text;
    expect(published).toContain(CHATHAM);
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  describe('drafting, revising and sharing through the pages', () => {
    test('the document page offers "Propose a change" to the owning group only', async () => {
      expect((await wanda.get(`/documents/${SLUG}`)).text).toContain(`href="/documents/${SLUG}/proposals/new"`);
      expect((await pete.get(`/documents/${SLUG}`)).text).not.toContain('/proposals/new');
      expect((await request(app).get(`/documents/${SLUG}`)).text).not.toContain('/proposals/new');
    });

    test('the new-proposal form is prefilled with the published text; others get 403, the public 401', async () => {
      const res = await wanda.get(`/documents/${SLUG}/proposals/new`);
      expect(res.status).toBe(200);
      expect(textareaOf(res.text, 'text')).toBe(published);
      expect(res.text).toMatch(/<label for="title">/);
      expect((await pete.get(`/documents/${SLUG}/proposals/new`)).status).toBe(403);
      expect((await request(app).get(`/documents/${SLUG}/proposals/new`)).status).toBe(401);
      expect((await wanda.get('/documents/no-such-doc/proposals/new')).status).toBe(404);
    });

    test('a refused draft (no title) is shown again with 400, the text kept, nothing created', async () => {
      const res = await post(wanda, `/documents/${SLUG}/proposals`, {
        title: '  ',
        rationale: 'why',
        text: 'my text\r\n',
      });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('invalid_title');
      expect(textareaOf(res.text, 'text')).toBe('my text\n');
      expect(proposals()).toHaveLength(0);
    });

    test('creating redirects to the draft, which the group sees and nobody else', async () => {
      const res = await post(wanda, `/documents/${SLUG}/proposals`, {
        title: 'Remove the Chatham House Rule',
        rationale: 'Members asked for **open** records.',
        text: published.replace(CHATHAM, '').replace(/\n/g, '\r\n'),
      });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/proposals/1');
      const page = await wanda.get('/proposals/1');
      expect(page.status).toBe(200);
      expect(page.text).toContain('role="status"');
      expect(page.text).toContain('<span class="badge draft">draft</span>');
      expect(page.text).toContain('<strong>open</strong>');
      expect(page.text).toContain('aria-label="Proposal views"');
      expect(page.text).toMatch(/href="\/proposals\/1\?tab=text" aria-current="page"/);
      expect(proposal(1).state).toBe('draft');
      // CRLF from the browser is stored as LF.
      expect(await proposalText(t.ctx, proposal(1))).toBe(published.replace(CHATHAM, ''));
      // The notice is shown once.
      expect((await wanda.get('/proposals/1')).text).not.toContain('role="status"');

      expect((await walt.get('/proposals/1')).status).toBe(200);
      expect((await pete.get('/proposals/1')).status).toBe(404);
      for (const tab of ['text', 'changes', 'revisions'])
        expect((await pete.get(`/proposals/1?tab=${tab}`)).status).toBe(404);
      expect((await pete.get('/proposals/1/edit')).status).toBe(404);
      expect((await request(app).get('/proposals/1')).status).toBe(404);
      expect((await request(app).get('/proposals/1/edit')).status).toBe(404);
      expect((await wanda.get('/proposals/99')).status).toBe(404);
      expect((await wanda.get(`/documents/${SLUG}`)).text).toContain('href="/proposals/1"');
      expect((await pete.get(`/documents/${SLUG}`)).text).not.toContain('href="/proposals/1"');
    });

    let waltHead: string;
    test('the edit form carries the head it began from; a preview saves nothing', async () => {
      const form = await wanda.get('/proposals/1/edit');
      expect(form.status).toBe(200);
      expect(hidden(form.text, 'head')).toBe(proposal(1).head);
      waltHead = hidden((await walt.get('/proposals/1/edit')).text, 'head')!;

      const text = published
        .replace(CHATHAM, '')
        .replace('The Group is advisory in nature.', 'The Group is purely advisory in nature.');
      const before = proposal(1);
      const res = await post(wanda, '/proposals/1/edit', {
        title: 'Remove the Chatham House Rule',
        rationale: 'Members asked for open records.',
        text,
        head: before.head,
        preview: '1',
      });
      expect(res.status).toBe(200);
      expect(res.text).toContain('Nothing has been saved yet');
      expect(res.text).toContain('<ins>purely </ins>');
      expect(textareaOf(res.text, 'text')).toBe(text);
      expect(hidden(res.text, 'head')).toBe(before.head);
      expect(proposal(1)).toEqual(before);
    });

    test('saving makes a revision and shows its diff', async () => {
      const text = published
        .replace(CHATHAM, '')
        .replace('The Group is advisory in nature.', 'The Group is purely advisory in nature.');
      const res = await post(wanda, '/proposals/1/edit', {
        title: 'Remove the Chatham House Rule',
        rationale: 'Members asked for open records.',
        text,
        head: proposal(1).head,
      });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/proposals/1?tab=changes&from=1&to=2');
      expect(proposal(1).revisions).toBe(2);
      const page = await follow(wanda, res);
      expect(page.status).toBe(200);
      expect(page.text).toContain('Revision 2 is saved');
      expect(page.text).toMatch(/href="\/proposals\/1\?tab=changes" aria-current="page"/);
      expect(page.text).toContain('<ins>purely </ins>');
      const diff = (html: string) => html.slice(html.indexOf('<div class="diff'));
      expect(diff(page.text)).toContain('<div class="diff rendered">');
      expect(diff(page.text)).not.toContain('<del>');
      // Base → head shows both changes, formatted; the source view is one link away and back.
      const all = await wanda.get('/proposals/1?tab=changes');
      expect(diff(all.text)).toContain('<div class="diff rendered">');
      expect(all.text).toContain('<ins>purely </ins>');
      expect(all.text).toContain(
        '<p>To encourage open discussion, the closed meetings follow a rule on attribution. <del>Closed meetings of the Group are held under the Chatham House Rule. </del>Participants',
      );
      expect(all.text).toContain('href="/proposals/1?tab=changes&amp;view=source#changes-h"');
      const source = await wanda.get('/proposals/1?tab=changes&view=source');
      expect(diff(source.text)).toContain('<div class="diff inline">');
      expect(source.text).toContain('<del>Closed meetings of the Group are held under the Chatham House Rule. </del>');
      expect(source.text).toContain('href="/proposals/1?tab=changes#changes-h">formatted</a>');
      expect((await wanda.get('/proposals/1?tab=changes&view=bogus')).status).toBe(400);
    });

    test('a second editor on a stale head gets 409 with their change shown and their own text kept', async () => {
      const mine = published
        .replace(CHATHAM, '')
        .replace('Members serve a term of one year', 'Members serve a term of two years');
      const res = await post(walt, '/proposals/1/edit', {
        title: 'Remove the Chatham House Rule',
        rationale: 'Walt was here.',
        text: mine,
        head: waltHead,
      });
      expect(res.status).toBe(409);
      expect(alertCode(res.text)).toBe('stale_head');
      expect(res.text).toContain('Someone saved a newer revision while you were editing');
      expect(res.text).toContain('Wanda Strategy saved revision 2');
      expect(res.text).toContain('<ins>purely </ins>'); // their change
      expect(textareaOf(res.text, 'text')).toBe(mine);
      expect(textareaOf(res.text, 'rationale')).toBe('Walt was here.');
      expect(hidden(res.text, 'head')).toBe(proposal(1).head);
      expect(proposal(1).revisions).toBe(2);

      // Saving again, deliberately, on the head now shown goes through.
      const again = await post(walt, '/proposals/1/edit', {
        title: 'Remove the Chatham House Rule',
        rationale: 'Members asked for open records.',
        text: mine.replace('The Group is advisory', 'The Group is purely advisory'),
        head: hidden(res.text, 'head')!,
      });
      expect(again.status).toBe(303);
      expect(proposal(1).revisions).toBe(3);
    });

    test('the revisions tab lists every revision with compare links', async () => {
      const res = await wanda.get('/proposals/1?tab=revisions');
      expect(res.status).toBe(200);
      expect(res.text).toContain('Walt Second');
      expect(res.text).toContain('href="/proposals/1?tab=changes&amp;from=2&amp;to=3"');
      expect(res.text).toContain('href="/proposals/1?tab=changes&amp;from=1&amp;to=2"');
      expect((await wanda.get('/proposals/1?tab=changes&from=2&to=3')).text).toContain('<ins>two years</ins>');
      expect((await wanda.get('/proposals/1?tab=changes&from=9')).status).toBe(404);
      expect((await wanda.get('/proposals/1?tab=nonsense')).status).toBe(400);
    });

    test('a plain member sees the proposal only once it is shared', async () => {
      expect((await pete.get('/proposals/1')).status).toBe(404);
      expect((await post(pete, '/proposals/1/share', {})).status).toBe(404);
      const res = await post(wanda, '/proposals/1/share', {});
      expect(res.status).toBe(303);
      expect((await follow(wanda, res)).text).toContain('now shared with all members');
      expect(proposal(1).state).toBe('shared');
      const page = await pete.get('/proposals/1');
      expect(page.status).toBe(200);
      expect(page.text).toContain('<span class="badge shared">shared</span>');
      expect(page.text).not.toContain('/proposals/1/edit'); // not his group: no Edit
      expect(page.text).not.toContain('/proposals/1/share');
      expect((await pete.get('/proposals/1/edit')).status).toBe(403);
      expect((await post(pete, '/proposals/1/edit', { title: 'x', text: 'x', head: proposal(1).head })).status).toBe(
        403,
      );
      // Sharing twice is a clash, shown on the page.
      const twice = await post(wanda, '/proposals/1/share', {});
      expect(twice.status).toBe(409);
      expect(alertCode(twice.text)).toBe('already_shared');
      expect((await request(app).get('/proposals/1')).status).toBe(404);
    });
  });

  describe('when the document moves on', () => {
    test('the changes tab offers the diff against the newer published version', async () => {
      expect((await wanda.get('/proposals/1?tab=changes')).text).not.toContain('against=published');
      const doc = t.ctx.meta.get('documents', SLUG)!;
      clock.advance(60_000);
      await publishVersion(t.ctx, {
        slug: SLUG,
        title: doc.title,
        group: doc.group,
        text: published.replace('around fifty members', 'around sixty members'),
        summary: 'Sixty members',
        author: { name: 'Sam Sec', email: 'sec@example.org', at: clock() },
      });
      const page = await wanda.get('/proposals/1');
      expect(page.text).toContain('based on <a href="/documents/terms-of-reference/versions/1">version 1</a>');
      expect(page.text).toContain('Version 2 of the document has been published since this proposal began');
      const changes = await wanda.get('/proposals/1?tab=changes');
      expect(changes.text).toContain('href="/proposals/1?tab=changes&amp;against=published"');
      expect(changes.text).not.toContain('sixty'); // base → head: still against version 1
      const against = await wanda.get('/proposals/1?tab=changes&against=published');
      expect(against.status).toBe(200);
      expect(against.text).toContain('From published version 2 to revision 3');
      expect(against.text).toContain('<del>sixty</del><ins>fifty</ins>');
    });
  });

  describe('comments', () => {
    test('a comment quoting a passage is shown beside its paragraph', async () => {
      const res = await post(pete, '/proposals/1/comments', {
        body: 'Remote members cannot meet this.',
        quote: IN_PERSON,
      });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/proposals/1#comment-1');
      const page = await follow(pete, res);
      const row = rows(page.text).find((r) => r.includes(IN_PERSON))!;
      expect(row).toContain('has-threads');
      expect(row).toContain('<article class="comment" id="comment-1" aria-label="Comment by Pete Plain">');
      expect(row).toContain('Remote members cannot meet this.');
      expect(comments()[0].anchor).toMatchObject({ quote: IN_PERSON, revision: 3 });
    });

    test('a quote that is not in the text is refused with 400, nothing created, the comment kept', async () => {
      const n = comments().length;
      const res = await post(pete, '/proposals/1/comments', {
        body: 'My careful words',
        quote: 'words that appear nowhere in the text',
      });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('quote_not_found');
      expect(textareaOf(res.text, 'comment-body')).toBe('My careful words');
      expect(res.text).toContain('value="words that appear nowhere in the text"');
      expect(comments()).toHaveLength(n);
      expect((await post(pete, '/proposals/1/comments', { body: '   ' })).status).toBe(400);
      expect(comments()).toHaveLength(n);
    });

    test('a reply joins the thread', async () => {
      const res = await post(wanda, '/proposals/1/comments', {
        body: 'Remote participation stays available.',
        replyTo: '1',
      });
      expect(res.status).toBe(303);
      expect(comments()[1]).toMatchObject({ replyTo: 1, body: 'Remote participation stays available.' });
      const page = await follow(wanda, res);
      const row = rows(page.text).find((r) => r.includes(IN_PERSON))!;
      expect(row.indexOf('id="comment-2"')).toBeGreaterThan(row.indexOf('id="comment-1"'));
    });

    test('a thread waiting for a group member shows on their "My drafts"', async () => {
      const res = await walt.get('/drafts');
      expect(res.status).toBe(200);
      expect(section(res.text, 'awaiting-h')).toContain('/proposals/1#thread-1');
      // Wanda had the last word.
      expect(section((await wanda.get('/drafts')).text, 'awaiting-h')).not.toContain('#thread-1');
    });

    test('the group resolves and reopens; a plain member only a thread they started', async () => {
      // Pete started thread 1: he may resolve it (another's thread: 403, test/http/formSchemas.test.ts).
      expect((await pete.get('/proposals/1')).text).toContain('/comments/1/resolve');
      expect(comments()[0].resolved).toBe(false);

      const res = await post(wanda, '/proposals/1/comments/2/resolve', {}); // a reply resolves its thread
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/proposals/1#thread-1');
      expect(comments()[0].resolved).toBe(true);
      const page = await follow(wanda, res);
      expect(page.text).toMatch(/id="thread-1">\s*<details class="resolved"><summary>Resolved by Wanda Strategy/);
      expect(page.text).toContain('action="/proposals/1/comments/1/reopen"');
      expect(section((await walt.get('/drafts')).text, 'awaiting-h')).not.toContain('#thread-1');

      expect((await post(walt, '/proposals/1/comments/1/reopen', {})).status).toBe(303);
      expect(comments()[0].resolved).toBe(false);
      // Reopened, it waits again (My drafts' threads are kept per proposal until one of its comments changes).
      expect(section((await walt.get('/drafts')).text, 'awaiting-h')).toContain('/proposals/1#thread-1');
      expect((await post(wanda, '/proposals/1/comments/99/resolve', {})).status).toBe(404);
    });

    test('a comment whose passage a later revision changed is listed as outdated, with its original passage', async () => {
      const quote = 'Members serve a term of two years, renewable twice';
      expect((await post(pete, '/proposals/1/comments', { body: 'Two years is long.', quote })).status).toBe(303);
      const id = comments()[comments().length - 1].id;
      const text = await proposalText(t.ctx, proposal(1));
      const res = await post(wanda, '/proposals/1/edit', {
        title: proposal(1).title,
        rationale: proposal(1).rationale,
        text: text.replace('two years', 'eighteen months'),
        head: proposal(1).head,
      });
      expect(res.status).toBe(303);

      const page = await pete.get('/proposals/1');
      const outdated = section(page.text, 'outdated-h');
      expect(outdated).toContain(`id="comment-${id}"`);
      expect(outdated).toContain('Quoted from revision 3 (since changed)');
      expect(outdated).toContain(quote);
      for (const r of rows(page.text)) expect(r).not.toContain(`id="comment-${id}"`);
      // The untouched passage keeps its place.
      expect(rows(page.text).find((r) => r.includes(IN_PERSON))).toContain('id="comment-1"');
    });

    test('markdown in comments is rendered harmless', async () => {
      const body = [
        'Look <script>alert(1)</script> here',
        '',
        '<img src=x onerror="alert(2)">',
        '',
        '[click me](javascript:alert(3)) and [ok](https://example.org) and <a href="javascript:alert(4)">raw</a>',
        '',
        '# A heading in a comment',
      ].join('\n');
      expect((await post(pete, '/proposals/1/comments', { body })).status).toBe(303);
      const page = await wanda.get('/proposals/1');
      const general = section(page.text, 'general-h');
      expect(general).toContain('<a href="https://example.org">ok</a>');
      expect(page.text).not.toMatch(/<script>alert/);
      expect(page.text).not.toMatch(/<img[^>]*onerror/i);
      expect(page.text).not.toMatch(/<[^>]+\son\w+=/i);
      expect(page.text).not.toMatch(/<a\s[^>]*href="javascript:/i);
      expect(general).toContain('<h5>A heading in a comment</h5>'); // below the page's own headings
    });
  });

  describe('refusals', () => {
    const FORMS = [
      '/documents/terms-of-reference/proposals',
      '/proposals/1/edit',
      '/proposals/1/share',
      '/proposals/1/withdraw',
      '/proposals/1/comments',
      '/proposals/1/comments/1/resolve',
      '/proposals/1/comments/1/reopen',
    ];

    test.each(FORMS)('POST %s without sign-in: 401, nothing changes', async (path) => {
      const before = JSON.stringify([proposals(), comments()]);
      const res = await request(app).post(path).type('form').send({ body: 'x', title: 'x', text: 'x' });
      expect(res.status).toBe(401);
      expect(JSON.stringify([proposals(), comments()])).toBe(before);
    });

    test.each(FORMS)('POST %s without the CSRF token: 403, nothing changes', async (path) => {
      const before = JSON.stringify([proposals(), comments()]);
      const res = await wanda
        .post(path)
        .type('form')
        .send({ body: 'x', title: 'x', text: 'x', head: proposal(1).head });
      expect(res.status).toBe(403);
      expect(JSON.stringify([proposals(), comments()])).toBe(before);
    });

    test('"My drafts" is for signed-in people only', async () => {
      expect((await request(app).get('/drafts')).status).toBe(401);
    });
  });

  describe('My drafts and withdrawing', () => {
    test('a new draft is listed for its group, not for others; its author withdraws it', async () => {
      const res = await post(walt, `/documents/${SLUG}/proposals`, {
        title: 'Allow remote participation',
        rationale: '',
        text: published.replace(IN_PERSON, 'Members may participate in person or remotely.'),
      });
      expect(res.status).toBe(303);
      const id = Number(/\/proposals\/(\d+)/.exec(res.headers.location as string)![1]);

      const mine = await wanda.get('/drafts');
      expect(section(mine.text, 'group-h')).toContain(`href="/proposals/${id}"`);
      expect(section(mine.text, 'group-h')).not.toContain('href="/proposals/1"'); // shared, no longer a draft
      expect(section(mine.text, 'mine-h')).toContain('href="/proposals/1"');
      expect(section((await walt.get('/drafts')).text, 'mine-h')).toContain(`href="/proposals/${id}"`);
      expect((await pete.get('/drafts')).text).not.toContain(`href="/proposals/${id}"`);
      expect((await pete.get(`/documents/${SLUG}`)).text).not.toContain(`href="/proposals/${id}"`);

      // Wanda may edit and share it but not withdraw it (only its author, the chair, the secretariat).
      const page = await wanda.get(`/proposals/${id}`);
      expect(page.text).toContain(`action="/proposals/${id}/share"`);
      expect(page.text).not.toContain(`action="/proposals/${id}/withdraw"`);
      expect((await post(wanda, `/proposals/${id}/withdraw`, {})).status).toBe(403);
      expect((await post(pete, `/proposals/${id}/withdraw`, {})).status).toBe(404);

      const w = await post(walt, `/proposals/${id}/withdraw`, {});
      expect(w.status).toBe(303);
      expect(proposal(id).state).toBe('withdrawn');
      const after = await follow(walt, w);
      expect(after.text).toContain('<span class="badge withdrawn">withdrawn</span>');
      expect(after.text).not.toContain(`action="/proposals/${id}/comments"`);
      expect(after.text).not.toContain(`/proposals/${id}/edit`);
      const edit = await walt.get(`/proposals/${id}/edit`);
      expect(edit.status).toBe(409);
      expect(edit.text).toContain('can no longer be edited: it is withdrawn');
      expect(edit.text).not.toContain('name="save"');
      const save = await post(walt, `/proposals/${id}/edit`, { title: 'x', text: 'x', head: proposal(id).head });
      expect(save.status).toBe(409);
      expect(alertCode(save.text)).toBe('not_editable');
      expect(proposal(id).revisions).toBe(1);
      expect(section((await wanda.get('/drafts')).text, 'group-h')).not.toContain(`href="/proposals/${id}"`);
      // Withdrawing twice is a clash, shown on the page.
      const twice = await post(walt, `/proposals/${id}/withdraw`, {});
      expect(twice.status).toBe(409);
      expect(alertCode(twice.text)).toBe('already_withdrawn');
    });
  });
});
