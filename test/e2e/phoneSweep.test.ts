/**
 * Every page a member or the secretariat uses, on a 360 px phone (issue 14, item 8): nothing
 * scrolls sideways (wide tables scroll inside their own box or become cards), axe finds
 * nothing, and a screenshot of each is kept in test-output/screenshots/phone-*.png.
 */
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { makeUser } from '../helpers/auth.js';
import { testClock } from '../helpers/data.js';
import { after, DAY, publishedText, S1, S2, TOR } from '../helpers/people.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { createConsolidation } from '../../server/services/consolidations/consolidations.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { castBallot } from '../../server/services/rounds/ballots.js';
import { openRound } from '../../server/services/rounds/rounds.js';
import {
  expectNoAxeViolations,
  expectNoSidewaysScroll,
  launchBrowser,
  newReader,
  serveApp,
  shot,
  signInAs,
} from './helpers.js';

const PASSWORD = 'a long enough password';
const PHONE_360 = { width: 360, height: 780 };
const PEOPLE = {
  sec: { email: 'sara.secretariat-office@example.org', name: 'Sara Secretariat-Longname', roles: ['secretariat'] },
  chair: { email: 'cara@example.org', name: 'Cara Chair', roles: ['chair'] },
  wanda: { email: 'wanda.with.a.long.address@ministry.example.org', name: 'Wanda Drafter', roles: ['member'] },
  mia: { email: 'mia@example.org', name: 'Mia Member', roles: ['member'] },
} as const;
type Who = keyof typeof PEOPLE;

let server: Awaited<ReturnType<typeof serveApp>>;
let browser: Browser;
const contexts: BrowserContext[] = [];
const ids = { proposal: 0, consolidation: 0, round: 0 };

beforeAll(async () => {
  const clock = testClock('2026-03-01T09:00:00Z');
  const launching = launchBrowser();
  server = await serveApp({ clock });
  const ctx = server.t.ctx;
  const actors = {} as Record<Who, Awaited<ReturnType<typeof makeUser>>['actor']>;
  for (const [k, p] of Object.entries(PEOPLE) as [Who, (typeof PEOPLE)[Who]][]) {
    actors[k] = (
      await makeUser(ctx, {
        email: p.email,
        name: p.name,
        roles: [...p.roles],
        groups: k === 'wanda' ? ['wg-strategy'] : [],
        password: PASSWORD,
      })
    ).actor;
  }
  const text = await publishedText(ctx, TOR);
  const a = await createProposal(ctx, actors.wanda, TOR, {
    title: 'Drop the Chatham House Rule from closed meetings of the Group, for transparency',
    rationale:
      'Open records. A link that is long: https://example.org/a/very/long/path/that/does/not/wrap/easily/at/all',
    text: text.replace(S1, ''),
  });
  const b = await createProposal(ctx, actors.wanda, TOR, { title: 'Remote participation', text: text.replace(S2, '') });
  const shared = await shareProposal(ctx, actors.wanda, a.id);
  await shareProposal(ctx, actors.wanda, b.id);
  await addComment(ctx, actors.mia, proposalCommentable(ctx, shared), {
    body: 'Supersupercalifragilisticexpialidocious-without-any-break-at-all-in-it-for-a-phone-screen.',
    anchor: { quote: 'Members are required to participate' },
  });
  ids.proposal = a.id;
  const c = await createConsolidation(ctx, actors.chair, TOR, { proposals: [a.id, b.id], summary: 'Open and hybrid' });
  ids.consolidation = c.id;
  const r = await openRound(ctx, actors.chair, {
    subject: { type: 'consolidation', id: c.id },
    rule: 'majority',
    quorum: 0.5,
    closesAt: after(clock, 7 * DAY),
  });
  ids.round = r.id;
  await castBallot(ctx, actors.mia, r.id, { position: 'object', reason: 'Meeting in person builds trust.' });
  browser = await launching;
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await server?.close();
});

async function phoneOf(who: Who): Promise<Page> {
  const context = await newReader(browser, PHONE_360, { isMobile: true });
  contexts.push(context);
  const page = await context.newPage();
  await signInAs(page, server.baseUrl, PEOPLE[who], PASSWORD);
  return page;
}

const memberPages = () => [
  ['home', '/'],
  ['document', `/documents/${TOR}`],
  ['history', `/documents/${TOR}/history`],
  ['proposal', `/proposals/${ids.proposal}`],
  ['proposal-changes', `/proposals/${ids.proposal}?tab=changes`],
  ['consolidation', `/consolidations/${ids.consolidation}`],
  ['rounds', '/rounds'],
  ['round', `/rounds/${ids.round}`],
  ['drafts', '/drafts'],
  ['account', '/account'],
];
const adminPages = () => [
  ['admin', '/admin'],
  ['admin-users', '/admin/users'],
  ['admin-user', '/admin/users/1'],
  ['admin-groups', '/admin/groups'],
  ['admin-stakeholders', '/admin/stakeholders'],
  ['admin-documents', '/admin/documents'],
  ['admin-audit', '/admin/audit'],
  ['admin-mail', '/admin/mail'],
  ['admin-security', '/admin/security'],
  ['admin-rounds', '/admin/rounds'],
  ['round-as-secretariat', `/rounds/${ids.round}`],
];

describe('on a 360 px phone, nothing scrolls sideways and axe finds nothing', () => {
  let mia: Page;
  let sec: Page;
  beforeAll(async () => {
    [mia, sec] = await Promise.all([phoneOf('mia'), phoneOf('sec')]);
  }, 60_000);

  test('a member’s pages', async () => {
    for (const [name, url] of memberPages()) {
      await mia.goto(server.baseUrl + url);
      await expectNoSidewaysScroll(mia);
      await expectNoAxeViolations(mia);
      await shot(mia, `phone360-${name}`);
    }
  }, 120_000);

  test('the secretariat’s pages', async () => {
    for (const [name, url] of adminPages()) {
      await sec.goto(server.baseUrl + url);
      await expectNoSidewaysScroll(sec);
      await expectNoAxeViolations(sec);
      await shot(sec, `phone360-${name}`);
    }
  }, 120_000);
});
