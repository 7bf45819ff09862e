/**
 * One answer for absent and invisible: for every kind of thing a URL names, an id that does
 * not exist, one the caller may not see, and one that is not even well formed get the same
 * status, code and message — on the API and on the pages (asked for JSON, and as HTML) — as
 * the public, as a member who may not see it, and as a signed-in account without the member
 * role. No answer tells whether something hidden exists.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { setUser } from '../../server/services/accounts/users.js';
import { createToken } from '../../server/services/auth/tokens.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { createProposal } from '../../server/services/proposals/proposals.js';
import { openRound } from '../../server/services/rounds/rounds.js';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { after, committee, DAY, publishedText, sharedProposal, twoProposalConsolidation } from '../helpers/people.js';

describe('http/absent', () => {
  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let cast: Awaited<ReturnType<typeof committee>>;
  const PASSWORD = 'a long enough passphrase';

  /** Who asks: nothing (the public), a bearer token for the API, a signed-in session for the pages (none: the API only). */
  interface Caller {
    api: Record<string, string>;
    page: Agent | null;
  }
  const callers: Record<string, Caller> = {};
  /** Ids and paths filled in beforeAll. */
  const ids = { draft: 0, shared: 0, consolidation: 0, round: 0, hiddenComment: 0 };

  beforeAll(async () => {
    t = await openTestApp({ clock });
    cast = await committee(t.ctx);
    // A draft of the workshop process (owned by wg-wsp): invisible to members outside wg-wsp.
    const wsp = await makeUser(t.ctx, {
      email: 'wes@example.org',
      name: 'Wes Workshop',
      roles: ['member'],
      groups: ['wg-wsp'],
      password: PASSWORD,
    });
    const draft = await createProposal(t.ctx, wsp.actor, 'workshop-process', {
      title: 'Hidden draft',
      rationale: 'Not yet shared',
      text: `${await publishedText(t.ctx, 'workshop-process')}\nA hidden change.\n`,
    });
    ids.draft = draft.id;
    ids.hiddenComment = (
      await addComment(t.ctx, wsp.actor, proposalCommentable(t.ctx, draft), { body: 'hidden remark' })
    ).id;
    const { c } = await twoProposalConsolidation(t.ctx, cast);
    ids.consolidation = c.id;
    ids.shared = (await sharedProposal(t.ctx, cast.drafter, 'Visible', (x) => `${x}\nVisible change.\n`)).id;
    ids.round = (
      await openRound(t.ctx, cast.chair.actor, {
        subject: { type: 'consolidation', id: c.id },
        rule: 'majority',
        quorum: 0,
        closesAt: after(clock, 7 * DAY),
      })
    ).id;
    // A member outside wg-wsp, and an account without the member role (it sees no consolidation or round).
    const outsider = await makeUser(t.ctx, {
      email: 'otto@example.org',
      name: 'Otto Outsider',
      roles: ['member'],
      groups: [],
      password: PASSWORD,
    });
    const guest = await makeUser(t.ctx, {
      email: 'gus@example.org',
      name: 'Gus Guest',
      roles: ['member'],
      groups: [],
      password: PASSWORD,
    });
    await setUser(t.ctx, CLI_ACTOR, guest.email, { roles: [] });
    const bearer = async (u: typeof outsider) => ({
      Authorization: `Bearer ${(await createToken(t.ctx, CLI_ACTOR, u, 'test')).token}`,
    });
    callers.public = { api: {}, page: null };
    callers.outsider = { api: await bearer(outsider), page: await signedIn(t.app, outsider.email, PASSWORD) };
    callers.drafter = { api: cast.drafter.auth, page: null };
    callers.guest = { api: await bearer(guest), page: await signedIn(t.app, guest.email, PASSWORD) };
  }, 120_000);
  afterAll(async () => t.cleanup());

  interface Answer {
    status: number;
    code: string;
    message: string;
  }

  /** Ask `path` as `who`: JSON from the API; from a page, the JSON form of the answer and its HTML. */
  async function ask(
    who: Caller,
    method: 'GET' | 'POST',
    path: string,
  ): Promise<{ json: Answer; html?: { status: number; text: string } }> {
    const api = path.startsWith('/api/');
    const agent = api || !who.page ? request(t.app) : who.page;
    const send = (accept: string) => {
      const r = method === 'GET' ? agent.get(path) : agent.post(path);
      if (api) r.set(who.api);
      return r.set('Accept', accept).send(method === 'POST' ? { body: 'x', position: 'yes' } : undefined);
    };
    const res = await send('application/json');
    const json = { status: res.status, code: res.body?.error?.code, message: res.body?.error?.message };
    if (api) return { json };
    const page = await send('text/html');
    return { json, html: { status: page.status, text: page.text } };
  }

  /** For each kind: the URL template (`{}` = the id) and the ids that must answer alike, per caller. */
  const TABLE: {
    kind: string;
    method?: 'POST';
    paths: string[];
    callers: string[];
    hidden: () => string;
    missing: string[];
  }[] = [
    {
      kind: 'proposal',
      paths: [
        '/api/v1/proposals/{}',
        '/api/v1/proposals/{}/diff',
        '/api/v1/proposals/{}/comments',
        '/proposals/{}',
        '/proposals/{}/edit',
      ],
      callers: ['public', 'outsider', 'guest'],
      hidden: () => String(ids.draft),
      missing: ['99999', 'abc'],
    },
    {
      kind: 'proposal',
      method: 'POST',
      paths: ['/api/v1/proposals/{}/share', '/api/v1/proposals/{}/comments'],
      callers: ['outsider'],
      hidden: () => String(ids.draft),
      missing: ['99999'],
    },
    {
      kind: 'consolidation',
      paths: [
        '/api/v1/consolidations/{}',
        '/api/v1/consolidations/{}/diff',
        '/api/v1/consolidations/{}/comments',
        '/consolidations/{}',
      ],
      callers: ['public', 'guest'],
      hidden: () => String(ids.consolidation),
      missing: ['99999', 'x1'],
    },
    {
      kind: 'round',
      paths: ['/api/v1/rounds/{}', '/rounds/{}'],
      callers: ['public', 'guest'],
      hidden: () => String(ids.round),
      missing: ['99999', '0'],
    },
    {
      kind: 'comment',
      method: 'POST',
      paths: [`/api/v1/proposals/SHARED/comments/{}/resolve`],
      callers: ['drafter'],
      hidden: () => String(ids.hiddenComment),
      missing: ['99999'],
    },
    {
      kind: 'document',
      paths: ['/api/v1/documents/{}', '/api/v1/documents/{}/versions', '/documents/{}', '/documents/{}/history'],
      callers: ['public', 'outsider'],
      hidden: () => 'no-such-document',
      missing: ['NOT_A_SLUG'],
    },
    {
      kind: 'version',
      paths: ['/api/v1/documents/terms-of-reference/versions/{}', '/documents/terms-of-reference/versions/{}'],
      callers: ['public', 'outsider'],
      hidden: () => '999',
      missing: ['12345'],
    },
  ];

  describe.each(TABLE)('$kind', ({ kind, method = 'GET', paths, callers: who, hidden, missing }) => {
    test.each(paths.flatMap((p) => who.map((c) => [p, c] as const)))(
      '%s as %s: the same answer for hidden, missing and malformed ids',
      async (path, c) => {
        const urls = [hidden(), ...missing].map((id) => path.replace('SHARED', String(ids.shared)).replace('{}', id));
        const answers = await Promise.all(urls.map((u) => ask(callers[c], method as 'GET' | 'POST', u)));
        const [first, ...rest] = answers;
        expect(first.json).toEqual({ status: 404, code: `${kind}_not_found`, message: expect.any(String) });
        for (const a of rest) expect(a.json).toEqual(first.json);
        if (first.html) {
          for (const a of answers) {
            expect(a.html!.status).toBe(404);
            expect(a.html!.text).toContain(`<code>${kind}_not_found</code>`);
            expect(a.html!.text).toContain(first.json.message);
          }
        }
      },
    );
  });

  test('the message names the kind only, never the id asked for', async () => {
    const res = await request(t.app).get(`/api/v1/consolidations/${ids.consolidation}`).expect(404);
    expect(res.body.error.message).not.toContain(String(ids.consolidation));
  });
});
