/**
 * Message-IDs are unique across installations (issue 13): each data folder gets a random
 * installation id at first start, kept across restarts, and every Message-ID carries it, so
 * a reinstall or a second instance mailing the same people never repeats one.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { openTestData, testClock, type TestData } from '../helpers/data.js';
import { committee, sharedProposal, S1 } from '../helpers/people.js';

describe('services/messageIds', () => {
  const opened: TestData[] = [];
  afterEach(async () => {
    for (const t of opened.splice(0)) await t.cleanup().catch(() => {});
  });

  const ids = async (t: TestData) => {
    const who = await committee(t.ctx);
    await sharedProposal(t.ctx, who.drafter, 'Open meetings', (x) => x.replace(S1, ''));
    return t.ctx.meta.all('mails').map((m) => m.messageId);
  };

  test('two installations never share a Message-ID for the same event; each copy names its installation', async () => {
    const a = await openTestData({ clock: testClock('2026-03-01T09:00:00Z') });
    const b = await openTestData({ clock: testClock('2026-03-01T09:00:00Z') });
    opened.push(a, b);
    const install = (t: TestData) => t.ctx.meta.get('system', 'install')!.installId!;
    expect(install(a)).toMatch(/^[0-9a-hjkmnp-tv-z]{6}$/);
    expect(install(a)).not.toBe(install(b));
    const [ia, ib] = [await ids(a), await ids(b)];
    expect(ia.length).toBeGreaterThan(0);
    expect(ia.filter((x) => ib.includes(x))).toEqual([]);
    for (const id of ia) expect(id).toContain(`.${install(a)}@`);
  });

  test('the installation id is kept across restarts', async () => {
    const a = await openTestData({ clock: testClock('2026-03-01T09:00:00Z') });
    opened.push(a);
    const before = a.ctx.meta.get('system', 'install')!.installId;
    await a.close();
    const again = await openTestData({ dataDir: a.dataDir, clock: testClock('2026-03-02T09:00:00Z') });
    opened.push(again);
    expect(again.ctx.meta.get('system', 'install')!.installId).toBe(before);
  });
});
