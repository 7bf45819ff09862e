/**
 * A change to the store applies only once it is on disk, so a check and its write can be
 * overtaken by another request in between. Account changes are therefore serialised
 * (ctx.accounts): two requests at the same moment never both pass a check meant for one.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { generate } from 'otplib';
import { addUser, getUser, setUser } from '../../server/services/accounts/users.js';
import { setNotify } from '../../server/services/accounts/links.js';
import { beginTotp, checkSecondFactor, confirmTotp } from '../../server/services/auth/totp.js';
import { actorOf } from '../../server/services/accounts/users.js';
import { openTestData, type TestData } from '../helpers/data.js';

describe('services/accountRaces', () => {
  let t: TestData;
  beforeAll(async () => {
    t = await openTestData({ seed: false });
  });
  afterAll(async () => {
    await t.cleanup();
  });

  describe('account changes at the same moment', () => {
    test('ten requests add the same address: one account, nine user_exists', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          addUser(t.ctx, CLI_ACTOR, { email: 'same@example.org', name: `Same ${i}` }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []));
      expect(codes).toEqual(Array(9).fill('user_exists'));
      expect(t.ctx.meta.all('users').filter((u) => u.email === 'same@example.org')).toHaveLength(1);
    });

    test('a name change and a notification change at once: both kept', async () => {
      const u = await addUser(t.ctx, CLI_ACTOR, { email: 'both@example.org', name: 'Before' });
      await Promise.all([
        setUser(t.ctx, CLI_ACTOR, u.email, { name: 'After' }),
        setNotify(t.ctx, actorOf(u), 'digest'),
      ]);
      expect(getUser(t.ctx, u.id)).toMatchObject({ name: 'After', notify: 'digest' });
    });

    test('one recovery code sent twice at once signs in once', async () => {
      const u = await addUser(t.ctx, CLI_ACTOR, { email: 'totp@example.org', name: 'Tess Totp' });
      const { secret } = await beginTotp(t.ctx, actorOf(u));
      const codes = await confirmTotp(
        t.ctx,
        actorOf(u),
        await generate({ secret, epoch: Math.floor(Date.now() / 1000) }),
      );
      const results = await Promise.all(Array.from({ length: 5 }, () => checkSecondFactor(t.ctx, u.id, codes[0])));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(getUser(t.ctx, u.id).totp!.recovery).toHaveLength(codes.length - 1);
    });
  });
});
