/**
 * The stakeholder groups in the JSON API: GET /api/v1/stakeholders (public, by name) and
 * POST /api/v1/stakeholders (secretariat: 201; 401 without a token, 403 for a member or the
 * chair, 400 for a bad slug, name or body, 409 for a taken slug — and nothing changes).
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { createToken } from '../../server/services/auth/tokens.js';
import { makeUser } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';

describe('http/stakeholdersApi', () => {
  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let memberToken: string;
  let chairToken: string;
  let secToken: string;

  const bearer = (tok: string) => ({ Authorization: `Bearer ${tok}` });
  const seq = async () => (await t.ctx.meta.auditLog(1))[0].seq;

  /** An error answer: the status and the code. */
  function expectError(res: request.Response, status: number, code: string) {
    expect([res.status, res.body?.error?.code]).toEqual([status, code]);
    expect(Object.keys(res.body)).toEqual(['error']);
  }

  beforeAll(async () => {
    t = await openTestApp({ clock });
    const [member, chair, sec] = await Promise.all([
      makeUser(t.ctx, {
        email: 'mem@example.org',
        name: 'Mia Member',
        roles: ['member'],
        password: 'member password here',
      }),
      makeUser(t.ctx, {
        email: 'chair@example.org',
        name: 'Cara Chair',
        roles: ['chair'],
        password: 'chair password here',
      }),
      makeUser(t.ctx, {
        email: 'sec@example.org',
        name: 'Sam Sec',
        roles: ['secretariat'],
        password: 'secretariat password',
      }),
    ]);
    memberToken = (await createToken(t.ctx, CLI_ACTOR, member)).token;
    chairToken = (await createToken(t.ctx, CLI_ACTOR, chair)).token;
    secToken = (await createToken(t.ctx, CLI_ACTOR, sec)).token;
  });

  afterAll(async () => {
    await t.cleanup();
  });

  const SEEDED = [
    { slug: 'civil-society', name: 'Civil society' },
    { slug: 'government', name: 'Governments and intergovernmental organisations' },
    { slug: 'private-sector', name: 'Private sector' },
    { slug: 'technical', name: 'Technical and academic community' },
  ];

  describe('GET /api/v1/stakeholders', () => {
    test('public: the seeded groups by name, {slug,name} each', async () => {
      const res = await request(t.app).get('/api/v1/stakeholders');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual(SEEDED);
    });

    test('the same for a signed-in member', async () => {
      const res = await request(t.app).get('/api/v1/stakeholders').set(bearer(memberToken));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(SEEDED);
    });
  });

  describe('POST /api/v1/stakeholders', () => {
    test('without a token: 401, nothing added', async () => {
      const before = await seq();
      expectError(
        await request(t.app).post('/api/v1/stakeholders').send({ slug: 'youth', name: 'Youth' }),
        401,
        'unauthenticated',
      );
      expect(await seq()).toBe(before);
    });

    test('a member or the chair: 403, nothing added', async () => {
      const before = await seq();
      for (const tok of [memberToken, chairToken]) {
        expectError(
          await request(t.app).post('/api/v1/stakeholders').set(bearer(tok)).send({ slug: 'youth', name: 'Youth' }),
          403,
          'forbidden',
        );
        // Even a malformed body is refused for who they are, not for what they sent.
        expectError(
          await request(t.app).post('/api/v1/stakeholders').set(bearer(tok)).send({ slug: 3 }),
          403,
          'forbidden',
        );
      }
      expect(t.ctx.meta.get('stakeholders', 'youth')).toBeUndefined();
      expect(await seq()).toBe(before);
    });

    test('the secretariat: 201 {slug,name}; listed at once, by name', async () => {
      const res = await request(t.app)
        .post('/api/v1/stakeholders')
        .set(bearer(secToken))
        .send({ slug: 'youth', name: 'Youth' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ slug: 'youth', name: 'Youth' });
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({
        actor: 'sec@example.org',
        action: 'stakeholder.created',
        subject: 'stakeholder/youth',
      });
      const list = await request(t.app).get('/api/v1/stakeholders');
      expect(list.body.map((s: { slug: string }) => s.slug)).toEqual([
        'civil-society',
        'government',
        'private-sector',
        'technical',
        'youth',
      ]);
    });

    test('a taken slug: 409 stakeholder_exists; a bad slug, name or body: 400; nothing changes', async () => {
      const before = await seq();
      const post = (body: unknown) =>
        request(t.app)
          .post('/api/v1/stakeholders')
          .set(bearer(secToken))
          .send(body as object);
      expectError(await post({ slug: 'youth', name: 'Youth again' }), 409, 'stakeholder_exists');
      expectError(await post({ slug: 'Bad Slug', name: 'Bad' }), 400, 'invalid_slug');
      expectError(await post({ slug: 'none', name: 'Nobody' }), 400, 'invalid_slug');
      expectError(await post({ slug: 'fine', name: '' }), 400, 'invalid_name');
      expectError(await post({ slug: 'fine', name: 'x'.repeat(201) }), 400, 'invalid_name');
      expectError(await post({ slug: 'fine' }), 400, 'invalid_input');
      expectError(await post({ slug: ['fine'], name: 'Fine' }), 400, 'invalid_input');
      expectError(await post([]), 400, 'invalid_input');
      expect(t.ctx.meta.get('stakeholders', 'fine')).toBeUndefined();
      expect(t.ctx.meta.get('stakeholders', 'youth')!.name).toBe('Youth');
      expect(await seq()).toBe(before);
    });
  });
});
