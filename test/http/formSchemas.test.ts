/**
 * The forms go through the schemas the API routes use (http/schemas/, `fromForm`): a value of
 * the wrong shape typed or forged into a form is refused on the page with the API's code, and
 * nothing changes. The services take typed input only, so a form that skipped its schema would
 * not type-check; these tests show the refusal reaches the person.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { alertCode, forms } from '../helpers/pages.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { openRound } from '../../server/services/rounds/rounds.js';

describe('http/formSchemas', () => {
  const PASSWORD = 'a long enough password';
  const SLUG = 'terms-of-reference';
  const clock = testClock('2026-01-15T10:00:00Z');

  let t: Awaited<ReturnType<typeof openTestApp>>;
  let chair: Agent;
  let member: Agent;
  let sec: Agent;
  let proposal = 0;
  /** A shared proposal with no round: its page shows the form that opens one. */
  let noRound = 0;
  let round = 0;
  const { post } = forms('/account');

  beforeAll(async () => {
    t = await openTestApp({ clock });
    const [c, m] = await Promise.all([
      makeUser(t.ctx, { email: 'chair@example.org', name: 'Cara Chair', roles: ['chair'], password: PASSWORD }),
      makeUser(t.ctx, {
        email: 'mo@example.org',
        name: 'Mo Member',
        roles: ['member'],
        groups: ['wg-strategy'],
        password: PASSWORD,
      }),
      makeUser(t.ctx, { email: 'sec@example.org', name: 'Sam Sec', roles: ['secretariat'], password: PASSWORD }),
    ]);
    const p = await createProposal(t.ctx, m.actor, SLUG, { title: 'A change', text: 'A new text.\n' });
    await shareProposal(t.ctx, m.actor, p.id);
    proposal = p.id;
    const q = await createProposal(t.ctx, m.actor, SLUG, { title: 'Another change', text: 'Another text.\n' });
    await shareProposal(t.ctx, m.actor, q.id);
    noRound = q.id;
    round = (
      await openRound(t.ctx, c.actor, {
        subject: { type: 'proposal', id: p.id },
        rule: 'majority',
        quorum: 0.5,
        closesAt: '2026-02-01T17:00:00Z',
      })
    ).id;
    [chair, member, sec] = await Promise.all(
      ['chair@example.org', 'mo@example.org', 'sec@example.org'].map((e) => signedIn(t.app, e, PASSWORD)),
    );
  }, 60_000);

  afterAll(() => t.cleanup());

  /** The store's whole state, to show a refusal changed nothing. */
  const state = () =>
    JSON.stringify({
      proposals: t.ctx.meta.all('proposals'),
      comments: t.ctx.meta.all('comments'),
      rounds: t.ctx.meta.all('rounds'),
      ballots: t.ctx.meta.all('ballots'),
      users: t.ctx.meta.all('users'),
      settings: t.ctx.meta.all('settings'),
    });

  describe('a form value of the wrong shape: 400 with the API code, nothing changed', () => {
    const cases: [string, () => Agent, () => string, Record<string, string>, string][] = [
      [
        'a ballot that is no position',
        () => member,
        () => `/rounds/${round}/ballots`,
        { position: 'maybe' },
        'invalid_position',
      ],
      [
        'a reply to a comment id that is not a number',
        () => member,
        () => `/proposals/${proposal}/comments`,
        { body: 'Agreed.', replyTo: 'abc' },
        'invalid_reply',
      ],
      [
        'a new proposal whose base version is not a number',
        () => member,
        () => `/documents/${SLUG}/proposals`,
        { title: 'T', rationale: '', text: 'x\n', baseVersion: 'latest' },
        'invalid_base_version',
      ],
      [
        'a round with a rule that does not exist',
        () => chair,
        () => `/proposals/${proposal}/rounds`,
        { rule: 'unanimity', quorum: '50', closesAt: '2026-02-01T17:00' },
        'invalid_rule',
      ],
      [
        'a notification preference that does not exist',
        () => member,
        () => '/account/notifications',
        { notify: 'loud' },
        'invalid_preference',
      ],
      [
        'a default record that does not exist',
        () => sec,
        () => '/admin/rounds',
        { defaultRecord: 'secret' },
        'invalid_record',
      ],
    ];
    test.each(cases)('%s', async (_what, who, path, body, code) => {
      const before = state();
      const res = await post(who(), path(), body);
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe(code);
      expect(state()).toBe(before);
    });
  });

  describe("a deadline typed in the reader's time zone", () => {
    test('with the instant the browser sent (closesAtUtc), that instant is stored; without it, the field is read as UTC', async () => {
      // Paris, winter: 18:00 local is 17:00 UTC.
      const ext = await post(chair, `/rounds/${round}/extend`, {
        closesAt: '2026-02-03T18:00',
        closesAtUtc: '2026-02-03T17:00:00.000Z',
      });
      expect(ext.status).toBe(303);
      expect(t.ctx.meta.get('rounds', round)!.closesAt).toBe('2026-02-03T17:00:00.000Z');
      const plain = await post(chair, `/rounds/${round}/extend`, { closesAt: '2026-02-04T18:00' });
      expect(plain.status).toBe(303);
      expect(t.ctx.meta.get('rounds', round)!.closesAt).toBe('2026-02-04T18:00:00.000Z');
    });

    test('a forged instant that is not ISO UTC is ignored: the field is read as UTC', async () => {
      const res = await post(chair, `/rounds/${round}/extend`, {
        closesAt: '2026-02-05T09:30',
        closesAtUtc: 'tomorrow',
      });
      expect(res.status).toBe(303);
      expect(t.ctx.meta.get('rounds', round)!.closesAt).toBe('2026-02-05T09:30:00.000Z');
    });
  });

  describe('mail preferences per kind', () => {
    test('a kind set on its own follows its choice; "default" follows the general one again; a bad one is refused', async () => {
      const mo = () => t.ctx.meta.all('users').find((u) => u.email === 'mo@example.org')!;
      const set = await post(member, '/account/notifications', {
        notify: 'digest',
        'kind-comments': 'immediate',
        'kind-rounds': 'none',
      });
      expect(set.status).toBe(303);
      expect(mo()).toMatchObject({ notify: 'digest', notifyKinds: { comments: 'immediate', rounds: 'none' } });
      const back = await post(member, '/account/notifications', { notify: 'digest', 'kind-comments': 'default' });
      expect(back.status).toBe(303);
      expect(mo().notifyKinds).toEqual({});
      const bad = await post(member, '/account/notifications', { notify: 'digest', 'kind-comments': 'loud' });
      expect(bad.status).toBe(400);
      expect(alertCode(bad.text)).toBe('invalid_preference');
      expect(mo().notifyKinds).toEqual({});
    });
  });

  describe('errors where the eye is', () => {
    test('the round form with a quorum of 150 and a past deadline: both problems, each field marked, one refusal', async () => {
      const before = state();
      const res = await post(chair, `/proposals/${noRound}/rounds`, {
        rule: 'majority',
        quorum: '150',
        closesAt: '2020-01-01T10:00',
      });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('invalid');
      const alert = /<div class="error"[^>]*role="alert"[^>]*>([\s\S]*?)<\/div>/.exec(res.text)?.[1] ?? '';
      expect(alert).toContain('data-code="invalid_quorum"');
      expect(alert).toContain('data-code="invalid_deadline"');
      // Each problem links to its field, and the fields say they are wrong.
      expect(alert).toContain('href="#round-quorum"');
      expect(alert).toContain('href="#round-deadline"');
      expect(res.text).toMatch(/id="round-quorum"[^>]*aria-invalid="true"/);
      expect(res.text).toMatch(/id="round-deadline"[^>]*aria-invalid="true"/);
      expect(state()).toBe(before);
    });
  });

  describe('threads: the starter may resolve; the summary names everyone who wrote', () => {
    test('a plain member resolves the thread they started (not another’s), and the summary lists both authors', async () => {
      const { addComment } = await import('../../server/services/proposals/comments.js');
      const { proposalCommentable } = await import('../../server/services/proposals/commentable.js');
      const { actorOf, findUserByEmail } = await import('../../server/services/accounts/users.js');
      // Pat: a plain member in no working group (Mo drafted the proposal, in its group: Mo may resolve any thread).
      const pat = (
        await makeUser(t.ctx, { email: 'pat@example.org', name: 'Pat Plain', roles: ['member'], password: PASSWORD })
      ).actor;
      const patAgent = await signedIn(t.app, 'pat@example.org', PASSWORD);
      const cara = actorOf(findUserByEmail(t.ctx, 'chair@example.org')!);
      const on = () => proposalCommentable(t.ctx, t.ctx.meta.get('proposals', noRound)!);
      const mine = await addComment(t.ctx, cara, on(), { body: 'Why this change?' });
      await addComment(t.ctx, pat, on(), { body: 'Because.', replyTo: mine.id });
      const started = await addComment(t.ctx, pat, on(), { body: 'A question of mine.' });
      await addComment(t.ctx, cara, on(), { body: 'Answered.', replyTo: started.id });
      // Pat may resolve the thread Pat started…
      const ok = await post(patAgent, `/proposals/${noRound}/comments/${started.id}/resolve`, {});
      expect(ok.status).toBe(303);
      expect(t.ctx.meta.get('comments', started.id)!.resolved).toBe(true);
      // …not Cara's.
      const no = await post(patAgent, `/proposals/${noRound}/comments/${mine.id}/resolve`, {});
      expect(no.status).toBe(403);
      expect(t.ctx.meta.get('comments', mine.id)!.resolved).toBe(false);
      const page = await patAgent.get(`/proposals/${noRound}`);
      expect(page.text).toMatch(/Resolved by Pat Plain · 2 comments from Pat Plain and Cara Chair/);
    });
  });

  describe('Admin › a user: the e-mail address can be corrected', () => {
    test('the secretariat changes it on the user page; the account signs in with the new one', async () => {
      const { makeUser: make } = await import('../helpers/auth.js');
      const u = await make(t.ctx, {
        email: 'wrong@exmaple.org',
        name: 'Wes Wrong',
        roles: ['member'],
        password: PASSWORD,
      });
      const res = await post(sec, `/admin/users/${u.actor.id}`, {
        name: 'Wes Wrong',
        email: 'wes@example.org',
        roles: 'member',
        stakeholder: '',
      });
      expect(res.status).toBe(303);
      expect(t.ctx.meta.get('users', u.actor.id)!.email).toBe('wes@example.org');
      await signedIn(t.app, 'wes@example.org', PASSWORD);
      const taken = await post(sec, `/admin/users/${u.actor.id}`, {
        name: 'Wes Wrong',
        email: 'mo@example.org',
        roles: 'member',
      });
      expect(taken.status).toBe(409);
      expect(alertCode(taken.text)).toBe('user_exists');
      expect(t.ctx.meta.get('users', u.actor.id)!.email).toBe('wes@example.org');
    });
  });

  describe('a refusal names the fields it is about (data-fields), for ratify.js to mark them', () => {
    test.each([
      [
        'a new proposal without a title',
        () => member,
        () => `/documents/${SLUG}/proposals`,
        { title: '  ', rationale: '', text: 'x\n' },
        'title',
      ],
      [
        'a comment on a passage not in the text',
        () => member,
        () => `/proposals/${proposal}/comments`,
        { body: 'Hm.', quote: 'Not in the text at all' },
        'quote',
      ],
      ['a ballot form with no position', () => member, () => `/rounds/${round}/ballots`, {}, 'position'],
    ])('%s', async (_what, who, path, body, fields) => {
      const res = await post(who(), path(), body as Record<string, string>);
      expect(res.status).toBe(400);
      expect(res.text).toMatch(new RegExp(`id="form-error"[^>]*data-fields="${fields}"`));
    });
  });

  describe('a refusal with several problems lists each, linked to its field', () => {
    test('adding a user with a bad address, no name and a short password: three items, each linked to its field', async () => {
      const res = await post(sec, '/admin/users', {
        email: 'not-an-address',
        name: '',
        password: 'short',
        roles: 'member',
      });
      expect(res.status).toBe(400);
      const alert = /<div class="error" role="alert" id="form-error"[^>]*>([\s\S]*?)<\/div>/.exec(res.text)?.[1] ?? '';
      expect([...alert.matchAll(/data-field="([^"]*)"/g)].map((m) => m[1])).toEqual(['email', 'name', 'password']);
    });

    test('a CSV with four bad lines on Admin › Users: four items in the refusal, each linked to the CSV field', async () => {
      const res = await post(sec, '/admin/users/import', {
        csv: 'email,name,roles,groups\nbad-email,Bad,member,\nok8@x.org,OK,emperor,\nok7@x.org,OK,member,wg-none\nok6@x.org,Six,member,\nOK6@x.org,Six again,member,\n',
      });
      expect(res.status).toBe(400);
      const alert = /<div class="error" role="alert" id="form-error"[^>]*>([\s\S]*?)<\/div>/.exec(res.text)?.[1] ?? '';
      expect([...alert.matchAll(/<li data-code="([a-z_]+)">/g)].map((m) => m[1])).toEqual([
        'invalid_email',
        'invalid_role',
        'group_not_found',
        // The same address twice in the file: not "there is already an account" (nothing was made).
        'duplicate_email',
      ]);
      expect(new Set([...alert.matchAll(/data-field="([^"]*)"/g)].map((m) => m[1]))).toEqual(new Set(['csv']));
      // The field the links lead to (ratify.js points them at its id).
      expect(res.text).toContain('name="csv"');
    });
  });
});
