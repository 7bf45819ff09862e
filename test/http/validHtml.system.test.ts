/**
 * Every page type is valid HTML, checked by the Nu HTML Checker (vnu, the W3C's validator, run
 * from the vnu-jar package with the machine's Java): the public pages (documents with and
 * without a heading of their own, history, versions, compares, errors), a member's (drafts,
 * proposal tabs and forms, the preview of a Word file, consolidation, rounds, account) and the secretariat's (admin, a round
 * with the officers' tools). All pages are fetched first, then checked in one run of vnu.
 * Skipped, with the reason, where there is no Java.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import request from 'supertest';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { actorOf, findUserByEmail } from '../../server/services/accounts/users.js';
import { addDocument } from '../../server/services/addDocument.js';
import { createConsolidation } from '../../server/services/consolidations/consolidations.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { publishVersion } from '../../server/services/publishVersion.js';
import { castBallot } from '../../server/services/rounds/ballots.js';
import { openRound } from '../../server/services/rounds/rounds.js';
import { csrfOf, makeUser, signIn, type Agent } from '../helpers/auth.js';
import { textDocx } from '../../server/http/render/wordOut.js';
import { openTestApp, projectRoot, tempDir, testClock } from '../helpers/data.js';
import { S1, S2, TOR } from '../helpers/people.js';

const VNU = path.join(projectRoot, 'node_modules', 'vnu-jar', 'build', 'dist', 'vnu.jar');
const javaWorks = (() => {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!javaWorks) console.warn('The HTML validity test (vnu) is skipped: there is no Java on this machine.');

const PASSWORD = 'a long enough password';
let t: Awaited<ReturnType<typeof openTestApp>>;
let dir: string;
const ids = { proposal: 0, suggested: 0, consolidation: 0, round: 0 };

beforeAll(async () => {
  if (!javaWorks) return;
  const clock = testClock('2026-03-01T09:00:00Z');
  t = await openTestApp({ clock });
  dir = await tempDir('ratify-vnu-');
  const [, wanda, mia] = await Promise.all([
    makeUser(t.ctx, { email: 'sec@example.org', name: 'Sam Sec', roles: ['secretariat'], password: PASSWORD }),
    makeUser(t.ctx, {
      email: 'wanda@example.org',
      name: 'Wanda Drafter',
      roles: ['member'],
      groups: ['wg-strategy'],
      password: PASSWORD,
    }),
    makeUser(t.ctx, { email: 'mia@example.org', name: 'Mia Member', roles: ['member'], password: PASSWORD }),
    makeUser(t.ctx, { email: 'chair@example.org', name: 'Cara Chair', roles: ['chair'], password: PASSWORD }),
  ]);
  const published = (await request(t.app).get(`/documents/${TOR}/versions/1.md`)).text;
  // A second version, so that history and compares have something to show.
  clock.advance(60_000);
  await publishVersion(t.ctx, {
    slug: TOR,
    title: 'Terms of Reference of the Multistakeholder Advisory Group',
    group: 'wg-strategy',
    text: published.replace(S2, 'Members may take part remotely. '),
    summary: 'Remote participation',
    author: { name: 'Cara Chair', email: 'chair@example.org', at: clock() },
  });
  // Documents as imported texts come: no heading of their own; front matter.
  await addDocument(t.ctx, CLI_ACTOR, {
    slug: 'plain',
    title: 'A plain text',
    group: 'mag',
    text: 'Just a paragraph, with no heading.\n\nAnd another.\n',
  });
  await addDocument(t.ctx, CLI_ACTOR, {
    slug: 'fronted',
    title: 'With front matter',
    group: 'mag',
    text: '---\ntitle: With front matter\nstatus: Living\n---\n\n## Abstract\n\nText under a second-level heading.\n',
  });
  const v2 = (await request(t.app).get(`/documents/${TOR}/versions/2.md`)).text;
  const p = await createProposal(t.ctx, wanda.actor, TOR, {
    title: 'Drop the Chatham House Rule',
    rationale: 'Open **records**.',
    text: v2.replace(S1, ''),
  });
  const shared = await shareProposal(t.ctx, wanda.actor, p.id);
  await addComment(t.ctx, mia.actor, proposalCommentable(t.ctx, shared), {
    body: 'Agreed, *mostly*.',
    anchor: { quote: 'Members may take part remotely.' },
  });
  ids.proposal = p.id;
  // Suggested changes, as the proposal's editor sees them: a word diff, "Apply", the checkboxes and their form.
  const s = await shareProposal(
    t.ctx,
    wanda.actor,
    (await createProposal(t.ctx, wanda.actor, TOR, { title: 'Plainer words', rationale: '', text: v2 })).id,
  );
  for (const [quote, suggestion] of [
    ['Chatham House Rule', 'house rules'],
    ['Members may take part remotely.', ''],
  ])
    await addComment(t.ctx, mia.actor, proposalCommentable(t.ctx, s), { body: '', anchor: { quote }, suggestion });
  ids.suggested = s.id;
  const chair = actorOf(findUserByEmail(t.ctx, 'chair@example.org')!);
  const c = await createConsolidation(t.ctx, chair, TOR, { proposals: [p.id], summary: 'Open records' });
  ids.consolidation = c.id;
  const r = await openRound(t.ctx, chair, {
    subject: { type: 'consolidation', id: c.id },
    rule: 'majority',
    quorum: 0.5,
    closesAt: '2026-03-08T17:00:00Z',
  });
  ids.round = r.id;
  await castBallot(t.ctx, mia.actor, r.id, { position: 'object', reason: 'Too early.' });
}, 120_000);

afterAll(async () => {
  if (!javaWorks) return;
  await t.cleanup();
  await fsp.rm(dir, { recursive: true, force: true });
});

const publicPages = () => [
  '/',
  `/documents/${TOR}`,
  `/documents/${TOR}/history`,
  `/documents/${TOR}/versions/1`,
  `/documents/${TOR}/versions/2`,
  `/documents/${TOR}/compare?from=1&to=2`,
  `/documents/${TOR}/compare?from=1&to=2&view=source`,
  `/documents/${TOR}/compare?from=1&to=2&view=side`,
  `/documents/${TOR}/compare?from=1&to=2&view=side-formatted`,
  '/documents/plain',
  '/documents/fronted',
  '/login',
  '/password/forgot',
  '/documents/nothing-here',
  `/proposals/${ids.proposal}`,
];
const memberPages = () => [
  '/drafts',
  `/proposals/${ids.proposal}`,
  `/proposals/${ids.proposal}?tab=changes`,
  `/proposals/${ids.proposal}?tab=revisions`,
  `/proposals/${ids.suggested}`,
  `/documents/${TOR}/proposals/new`,
  // With "Propose a change to this section" beside each heading, and the one-section form.
  `/documents/${TOR}`,
  `/documents/${TOR}/proposals/new?section=3-chair`,
  `/consolidations/${ids.consolidation}`,
  '/rounds',
  `/rounds/${ids.round}`,
  '/account',
];
const secretariatPages = () => [
  '/admin',
  '/admin/users',
  '/admin/users/1',
  '/admin/groups',
  '/admin/stakeholders',
  '/admin/documents',
  '/admin/audit',
  '/admin/mail',
  '/admin/security',
  '/admin/rounds',
  `/rounds/${ids.round}`,
  `/consolidations/${ids.consolidation}`,
];

interface VnuMessage {
  type: string;
  url: string;
  message: string;
  extract?: string;
  lastLine?: number;
}

(javaWorks ? describe : describe.skip)('every page type is valid HTML (vnu)', () => {
  test('public, member and secretariat pages: no error', async () => {
    const agents: [string, Agent | null, string[]][] = [
      ['public', null, publicPages()],
      ['wanda', (await signIn(t.app, 'wanda@example.org', PASSWORD)).agent, memberPages()],
      ['sec', (await signIn(t.app, 'sec@example.org', PASSWORD)).agent, secretariatPages()],
    ];
    const files = new Map<string, string>();
    for (const [who, agent, urls] of agents) {
      for (const url of urls) {
        const res = await (agent ?? request(t.app)).get(url);
        expect([200, 404]).toContain(res.status);
        const file = path.join(dir, `${who}-${files.size}.html`);
        await fsp.writeFile(file, res.text);
        files.set(path.basename(file), `${who} ${url}`);
      }
    }
    // The preview of a Word file (the answer to the upload form, a POST).
    const wanda = agents[1][1]!;
    const word = await textDocx('# Terms of Reference\n\nA text read from a **Word** file.\n', {
      title: 'Terms',
      description: 'A test file',
    });
    const preview = await wanda
      .post(`/documents/${TOR}/proposals/docx`)
      .field('_csrf', await csrfOf(wanda))
      .attach('file', Buffer.from(word), { filename: 'terms.docx' });
    expect(preview.status).toBe(200);
    await fsp.writeFile(path.join(dir, 'wanda-word-preview.html'), preview.text);
    files.set('wanda-word-preview.html', `wanda POST /documents/${TOR}/proposals/docx`);
    const out = await new Promise<string>((resolve) =>
      execFile(
        'java',
        ['-jar', VNU, '--errors-only', '--format', 'json', dir],
        { maxBuffer: 16 << 20 },
        (_err, _stdout, stderr) => resolve(stderr),
      ),
    );
    const messages = (JSON.parse(out) as { messages: VnuMessage[] }).messages;
    const errors = messages
      .filter((m) => m.type === 'error')
      .map((m) => `${files.get(path.basename(m.url)) ?? m.url}: ${m.message} (line ${m.lastLine}: ${m.extract ?? ''})`);
    expect(errors).toEqual([]);
  }, 120_000);
});
