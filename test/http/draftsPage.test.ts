/**
 * "My drafts" over the years: each list shows its newest 50, says how many there are, and links
 * to all of them (issue 17: the page listed every draft of the member's groups, 1.1 MB at three
 * years' volume).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { publishedText } from '../helpers/people.js';
import { section } from '../helpers/pages.js';
import { createProposal } from '../../server/services/proposals/proposals.js';
import { DRAFTS_SHOWN } from '../../server/http/pages/draftPages.js';

const PASSWORD = 'a long enough password';
let t: Awaited<ReturnType<typeof openTestApp>>;
let wanda: Agent;

beforeAll(async () => {
  t = await openTestApp({ clock: testClock('2026-01-15T10:00:00Z') });
  const w = await makeUser(t.ctx, {
    email: 'wanda@example.org',
    name: 'Wanda Strategy',
    roles: ['member'],
    groups: ['wg-strategy'],
    password: PASSWORD,
  });
  const text = await publishedText(t.ctx);
  for (let i = 1; i <= DRAFTS_SHOWN + 3; i++)
    await createProposal(t.ctx, w.actor, 'terms-of-reference', {
      title: `Draft ${i}`,
      rationale: 'Why',
      text: `${text}\nAddendum ${i}.\n`,
    });
  wanda = await signedIn(t.app, w.email, PASSWORD);
});
afterAll(async () => {
  await t?.cleanup();
});

const titles = (html: string) => [...html.matchAll(/>Draft (\d+)</g)].map((m) => Number(m[1]));

test('each list shows its newest 50, says how many there are, and links to all', async () => {
  const res = await wanda.get('/drafts');
  expect(res.status).toBe(200);
  for (const id of ['group-h', 'mine-h']) {
    const part = section(res.text, id);
    expect(titles(part)).toEqual(Array.from({ length: DRAFTS_SHOWN }, (_, i) => DRAFTS_SHOWN + 3 - i)); // newest first
    expect(part).toContain(`The newest ${DRAFTS_SHOWN} of ${DRAFTS_SHOWN + 3}.`);
    expect(part).toContain('<a href="/drafts?all=1">Show them all</a>');
  }
  const all = await wanda.get('/drafts?all=1');
  expect(titles(section(all.text, 'mine-h'))).toHaveLength(DRAFTS_SHOWN + 3);
  expect(section(all.text, 'mine-h')).not.toContain('Show them all');
});
