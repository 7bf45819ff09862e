/**
 * Consolidation, approval round and publication, driven through the pages as people would:
 * sign in through the form, follow the forms (with their CSRF tokens), read the pages. The
 * chair consolidates two shared proposals to the terms of reference, opens a round; members
 * vote (one objects — without a reason first), the secretariat records a ballot given in a
 * meeting, the chair closes and publishes; the public history and version pages then show the
 * decision record with every ballot. Refusals: 401 / 403 / 404 and 403 without a CSRF token.
 */
import { alertCode, follow, forms, notice, plain, section, textareaHtml as textareaOf } from '../helpers/pages.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { story } from '../helpers/story.js';

import request from 'supertest';
import type { Express } from 'express';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { deadlineFromLocal, quorumFromPercent } from '../../server/http/presenters/roundForm.js';
import { percentLabel } from '../../server/http/presenters/roundView.js';
import { tallyWidths } from '../../server/http/presenters/tallyView.js';

describe('http/roundPages', () => {
  /** The tests tell one story in order; each still runs on its own (`-t`), bringing the story up to itself. */
  const step = story();

  const PASSWORD = 'a long enough password';
  const SLUG = 'terms-of-reference';
  const CHATHAM = 'Closed meetings of the Group are held under the Chatham House Rule. ';
  const IN_PERSON = 'Members are required to participate in person in the closed meetings of the Group. ';
  const clock = testClock('2026-01-15T10:00:00Z');

  let t: Awaited<ReturnType<typeof openTestApp>>;
  let app: Express;
  let chair: Agent; // chair, not a member: runs the process, does not vote
  let sec: Agent; // secretariat, not a member
  let amina: Agent; // member of wg-strategy: drafted the proposals
  let bruno: Agent; // member
  let chloe: Agent; // member, votes in a meeting (recorded by the secretariat)
  let p1: number;
  let p2: number;

  const consolidations = () => t.ctx.meta.all('consolidations');
  const rounds = () => t.ctx.meta.all('rounds');
  const ballots = () => t.ctx.meta.all('ballots');

  const { post } = forms('/rounds');

  beforeAll(async () => {
    t = await openTestApp({ clock });
    app = t.app;
    const users = await Promise.all([
      makeUser(t.ctx, { email: 'chair@example.org', name: 'Cara Chair', roles: ['chair'], password: PASSWORD }),
      makeUser(t.ctx, {
        email: 'sec@example.org',
        name: 'Sam Secretariat',
        roles: ['secretariat'],
        password: PASSWORD,
      }),
      makeUser(t.ctx, {
        email: 'amina@example.org',
        name: 'Amina Diallo',
        roles: ['member'],
        groups: ['wg-strategy'],
        password: PASSWORD,
      }),
      makeUser(t.ctx, { email: 'bruno@example.org', name: 'Bruno Costa', roles: ['member'], password: PASSWORD }),
      makeUser(t.ctx, { email: 'chloe@example.org', name: 'Chloé Martin', roles: ['member'], password: PASSWORD }),
    ]);
    [chair, sec, amina, bruno, chloe] = await Promise.all(users.map((u) => signedIn(app, u.email, PASSWORD)));
    const author = users[2].actor;
    const published = (await request(app).get(`/documents/${SLUG}/versions/1.md`)).text;
    expect(published).toContain(CHATHAM);
    expect(published).toContain(IN_PERSON);
    const a = await createProposal(t.ctx, author, SLUG, {
      title: 'Drop the Chatham House Rule',
      rationale: 'Open records.',
      text: published.replace(CHATHAM, ''),
    });
    const b = await createProposal(t.ctx, author, SLUG, {
      title: 'Allow remote participation',
      rationale: 'Hybrid meetings.',
      text: published.replace(IN_PERSON, ''),
    });
    await shareProposal(t.ctx, author, a.id);
    await shareProposal(t.ctx, author, b.id);
    [p1, p2] = [a.id, b.id];
  }, 60_000);

  afterAll(async () => {
    await t?.cleanup();
  });

  describe('form values', () => {
    step('a quorum is a percentage with up to two decimals, held exactly', () => {
      expect(quorumFromPercent('50')).toBe(0.5);
      expect(quorumFromPercent('66.67 %')).toBe(0.6667);
      expect(quorumFromPercent('0')).toBe(0);
      expect(quorumFromPercent('100%')).toBe(1);
      for (const bad of ['', '101', '-5', '0.125', 'half', '1e2'])
        expect(() => quorumFromPercent(bad)).toThrow(/percentage/);
      expect(percentLabel(6667)).toBe('66.67%');
      expect(percentLabel(5000)).toBe('50%');
      expect(percentLabel(3350)).toBe('33.5%');
    });

    step('a datetime-local value is read as UTC; dates that do not exist are refused', () => {
      expect(deadlineFromLocal('2026-03-01T17:00')).toBe('2026-03-01T17:00:00.000Z');
      expect(deadlineFromLocal('2026-03-01T17:00:30')).toBe('2026-03-01T17:00:30.000Z');
      expect(() => deadlineFromLocal('2026-02-30T17:00')).toThrow(/does not exist/);
      expect(() => deadlineFromLocal('tomorrow')).toThrow(/date and a time/);
    });

    step('tally widths come in steps of 5, add up to 100, and keep every non-zero count visible', () => {
      expect(tallyWidths([0, 0, 0, 0])).toEqual([0, 0, 0, 0]);
      expect(tallyWidths([1, 1, 1, 0])).toEqual([35, 35, 30, 0]);
      expect(tallyWidths([50, 1, 0, 0])).toEqual([95, 5, 0, 0]);
      for (const c of [
        [3, 7, 11, 2],
        [1, 0, 0, 99],
        [0, 1, 1, 1],
      ]) {
        const w = tallyWidths(c);
        expect(w.reduce((a, b) => a + b, 0)).toBe(100);
        w.forEach((x, i) => {
          expect(x % 5).toBe(0);
          if (c[i] > 0) expect(x).toBeGreaterThan(0);
        });
      }
    });
  });

  describe('consolidating', () => {
    step('the document page offers "Consolidate" to the chair only', async () => {
      expect((await chair.get(`/documents/${SLUG}`)).text).toContain(`href="/documents/${SLUG}/consolidate"`);
      expect((await sec.get(`/documents/${SLUG}`)).text).toContain(`href="/documents/${SLUG}/consolidate"`);
      expect((await bruno.get(`/documents/${SLUG}`)).text).not.toContain('/consolidate"');
      expect((await request(app).get(`/documents/${SLUG}`)).text).not.toContain('/consolidate"');
    });

    step('the form lists the shared proposals in order of id; members get 403, the public 401', async () => {
      const res = await chair.get(`/documents/${SLUG}/consolidate`);
      expect(res.status).toBe(200);
      const boxes = [...res.text.matchAll(/<input type="checkbox" name="proposals" value="(\d+)"/g)].map((m) =>
        Number(m[1]),
      );
      expect(boxes).toEqual([p1, p2]);
      expect(res.text).toContain('<legend>Shared proposals to merge</legend>');
      expect(res.text).toMatch(/<label for="summary">/);
      expect((await bruno.get(`/documents/${SLUG}/consolidate`)).status).toBe(403);
      expect((await request(app).get(`/documents/${SLUG}/consolidate`)).status).toBe(401);
      expect((await chair.get('/documents/no-such-doc/consolidate')).status).toBe(404);
    });

    step('nothing ticked: 400 on the same page, the summary kept, nothing made', async () => {
      const res = await post(chair, `/documents/${SLUG}/consolidate`, { summary: 'Open and hybrid meetings' });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('invalid_proposals');
      expect(res.text).toContain('value="Open and hybrid meetings"');
      expect(consolidations()).toHaveLength(0);
    });

    step('a member may not consolidate (403)', async () => {
      const res = await post(bruno, `/documents/${SLUG}/consolidate`, {
        proposals: [String(p1), String(p2)],
        summary: 'x',
      });
      expect(res.status).toBe(403);
      expect(consolidations()).toHaveLength(0);
    });

    step(
      'two shared proposals become consolidation 1, shown with its diff and where each change came from',
      async () => {
        const made = await post(chair, `/documents/${SLUG}/consolidate`, {
          proposals: [String(p1), String(p2)],
          summary: 'Open and hybrid meetings',
        });
        expect(made.headers.location).toBe('/consolidations/1');
        const res = await follow(chair, made);
        expect(res.status).toBe(200);
        expect(notice(res.text)).toMatch(/Consolidation 1 is made/);
        expect(res.text).toMatch(/<span class="badge open">open<\/span>/);
        expect(res.text).not.toContain('badge stale');
        expect(res.text).not.toContain('id="conflicts-h"');
        const changes = section(res.text, 'changes-h');
        const dels = [...changes.matchAll(/<del>([^<]*)<\/del>/g)].map((m) => m[1]);
        expect(dels.some((d) => d.includes('Chatham House Rule'))).toBe(true);
        expect(dels.some((d) => d.includes('participate in person'))).toBe(true);
        const sources = [...changes.matchAll(/<p class="source">([\s\S]*?)<\/p>/g)].map((m) => plain(m[1]).trim());
        expect(sources).toEqual([expect.stringContaining(`proposal ${p2}`), expect.stringContaining(`proposal ${p1}`)]);
        expect(sources[0]).not.toContain(`proposal ${p1}`);
        expect(changes).toContain('<div class="diff rendered">');
        // The source view keeps the same attribution, block by block of markdown.
        const source = section((await chair.get('/consolidations/1?view=source')).text, 'changes-h');
        expect(source).toContain('<div class="diff inline">');
        const bySource = [...source.matchAll(/<p class="source">([\s\S]*?)<\/p>/g)].map((m) => plain(m[1]).trim());
        expect(bySource).toEqual([
          expect.stringContaining(`proposal ${p2}`),
          expect.stringContaining(`proposal ${p1}`),
        ]);
        // The chair's actions, and the candidate text itself.
        expect(res.text).toContain('action="/consolidations/1/rounds"');
        expect(res.text).toContain('href="/consolidations/1/edit"');
        expect(res.text).toContain('<input type="datetime-local" id="round-deadline" name="closesAt"');
        expect(section(res.text, 'text-h')).toContain('Terms of Reference of the Multistakeholder Advisory Group</h3>');
      },
    );

    step("members read it without the chair's forms; the public and unknown ids get 404", async () => {
      const res = await bruno.get('/consolidations/1');
      expect(res.status).toBe(200);
      expect(res.text).not.toContain('action="/consolidations/1/rounds"');
      expect(res.text).not.toContain('/consolidations/1/edit');
      expect(res.text).toContain('action="/consolidations/1/comments#comments"');
      expect((await request(app).get('/consolidations/1')).status).toBe(404);
      expect((await bruno.get('/consolidations/99')).status).toBe(404);
      expect((await bruno.get('/consolidations/1/edit')).status).toBe(403);
    });

    step('a comment on the consolidation is listed on its page', async () => {
      const res = await follow(
        bruno,
        await post(bruno, '/consolidations/1/comments', { body: 'Looks right to me.', quote: '' }),
      );
      expect(notice(res.text)).toBe('Your comment was added.');
      expect(section(res.text, 'comments-h')).toContain('Looks right to me.');
    });
  });

  describe('the round', () => {
    step('opening is refused with 400 for a bad quorum or a past deadline, the form kept', async () => {
      let res = await post(chair, '/consolidations/1/rounds', {
        rule: 'majority',
        quorum: '150',
        closesAt: '2026-01-22T17:00',
      });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('invalid_quorum');
      expect(res.text).toContain('value="150"');
      res = await post(chair, '/consolidations/1/rounds', {
        rule: 'majority',
        quorum: '50',
        closesAt: '2026-01-01T17:00',
      });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('invalid_deadline');
      expect(res.text).toContain('value="2026-01-01T17:00"');
      expect(
        (
          await post(bruno, '/consolidations/1/rounds', {
            rule: 'majority',
            quorum: '50',
            closesAt: '2026-01-22T17:00',
          })
        ).status,
      ).toBe(403);
      expect(rounds()).toHaveLength(0);
    });

    step('the chair opens a majority round with a 50% quorum, deadline read as UTC', async () => {
      const made = await post(chair, '/consolidations/1/rounds', {
        rule: 'majority',
        quorum: '50',
        closesAt: '2026-01-22T17:00',
        record: 'named',
      });
      expect(made.headers.location).toBe('/rounds/1');
      const r = rounds()[0];
      expect(r).toMatchObject({
        rule: 'majority',
        quorumBp: 5000,
        closesAt: '2026-01-22T17:00:00.000Z',
        state: 'open',
        electorate: expect.any(Array),
      });
      expect(r.electorate).toHaveLength(3);
      const res = await follow(chair, made);
      expect(notice(res.text)).toMatch(/Round 1 is open/);
      expect(res.text).toContain('Simple majority');
      expect(res.text).toContain('50% of the electorate: at least 2 of 3 members must vote');
      expect(res.text).toContain('<time datetime="2026-01-22T17:00:00.000Z" data-local>22 Jan 2026, 17:00 UTC</time>');
      expect(res.text).toContain(`href="/consolidations/1"`);
      expect(res.text).toContain(r.commit.slice(0, 10));
      // The chair is not in the electorate: no ballot form, but the list of who has not voted.
      expect(res.text).not.toContain('id="ballot-h"');
      expect(plain(section(res.text, 'manage-h'))).toMatch(
        /3 members of 3 have not voted: Amina Diallo Bruno Costa Chloé Martin/,
      );
      // The chair is not the secretariat: no form to record ballots.
      expect(res.text).not.toContain('action="/rounds/1/record#record-ballot"');
      // The text under vote and its diff.
      expect(section(res.text, 'changes-h')).toContain('<del>');
      // Formatted by default, the source a link away (the page opens at the diff).
      expect(section(res.text, 'changes-h')).toContain('<div class="diff rendered">');
      expect(section(res.text, 'changes-h')).toContain('href="/rounds/1?view=source#changes-h"');
      const source = await chair.get('/rounds/1?view=source');
      expect(section(source.text, 'changes-h')).toContain('<div class="diff inline">');
      expect(section(res.text, 'text-h')).toContain('Mandate');
    });

    step('the text is frozen while the round is open (409)', async () => {
      const page = await chair.get('/consolidations/1/edit');
      expect(page.status).toBe(200);
      const head = /name="head" value="([0-9a-f]{40})"/.exec(page.text)![1];
      const res = await post(chair, '/consolidations/1/edit', { text: 'anything\n', head });
      expect(res.status).toBe(409);
      expect(alertCode(res.text)).toBe('frozen');
      expect(textareaOf(res.text, 'text')).toBe('anything\n');
    });

    step('/rounds lists the open round, "you have not voted" for a member', async () => {
      const res = await bruno.get('/rounds');
      expect(res.status).toBe(200);
      expect(section(res.text, 'open-h')).toContain('href="/rounds/1"');
      expect(section(res.text, 'open-h')).toContain('you have not voted');
      expect(res.text).not.toContain('id="cons-h"');
      expect((await chair.get('/rounds')).text).toContain('id="cons-h"');
      expect((await request(app).get('/rounds')).status).toBe(401);
    });

    step('a member sees the ballot form; an objection without a reason is refused with 400', async () => {
      const page = await bruno.get('/rounds/1');
      expect(page.text).toContain('You have not voted yet.');
      expect(page.text).toMatch(/<fieldset class="choices">\s*<legend>Your position<\/legend>/);
      const res = await post(bruno, '/rounds/1/ballots', { position: 'object', reason: '  ' });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('reason_required');
      expect(res.text).toMatch(/value="object" required checked/);
      expect(ballots()).toHaveLength(0);
    });

    step('members vote and may change their ballot; the record keeps every cast', async () => {
      let res = await follow(amina, await post(amina, '/rounds/1/ballots', { position: 'abstain', reason: '' }));
      expect(notice(res.text)).toMatch(/Your ballot is recorded: abstain/);
      res = await follow(
        amina,
        await post(amina, '/rounds/1/ballots', {
          position: 'approve',
          reason: 'Both changes were asked for by members.',
        }),
      );
      expect(notice(res.text)).toMatch(/approve/);
      expect(plain(section(res.text, 'ballot-h'))).toMatch(/Your counted ballot: approve/);
      res = await follow(
        bruno,
        await post(bruno, '/rounds/1/ballots', { position: 'object', reason: 'Meeting in person builds trust.' }),
      );
      expect(notice(res.text)).toMatch(/object/);
      const table = section(res.text, 'ballots-h');
      expect(plain(table)).toMatch(/Amina Diallo abstain .* replaced by a later ballot/);
      expect(plain(table)).toMatch(/Bruno Costa \(you\) object Meeting in person builds trust\./);
      expect(table).toContain('<th scope="col">Voter</th>');
      expect(plain(section(res.text, 'tally-h'))).toMatch(
        /Approve: 1 Object: 1 Abstain: 0 Not voted: 1 of 3 in the electorate/,
      );
      expect(section(res.text, 'tally-h')).toMatch(/class="seg approve w-35"|class="seg approve w-30"/);
    });

    step('closing early before everyone voted is refused (409); the chair may not vote (403)', async () => {
      const res = await post(chair, '/rounds/1/close', {});
      expect(res.status).toBe(409);
      expect(alertCode(res.text)).toBe('not_everyone_voted');
      expect((await post(chair, '/rounds/1/ballots', { position: 'approve' })).status).toBe(403);
      expect((await post(bruno, '/rounds/1/close', {})).status).toBe(403);
      expect((await post(bruno, '/rounds/1/extend', { closesAt: '2026-01-30T17:00' })).status).toBe(403);
      expect((await post(bruno, '/rounds/1/record', { voter: 'chloe@example.org', position: 'approve' })).status).toBe(
        403,
      );
      expect((await post(chair, '/rounds/1/record', { voter: 'chloe@example.org', position: 'approve' })).status).toBe(
        403,
      );
    });

    step('the chair extends the deadline; an earlier one is refused (400)', async () => {
      let res = await post(chair, '/rounds/1/extend', { closesAt: '2026-01-20T17:00' });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('invalid_deadline');
      res = await follow(chair, await post(chair, '/rounds/1/extend', { closesAt: '2026-01-29T17:00' }));
      expect(notice(res.text)).toBe('The deadline is now 2026-01-29 17:00 UTC.');
      expect(rounds()[0].closesAt).toBe('2026-01-29T17:00:00.000Z');
    });

    step('cancelling needs a reason (400)', async () => {
      const res = await post(chair, '/rounds/1/cancel', { reason: '' });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('reason_required');
      expect(rounds()[0].state).toBe('open');
    });

    step("the secretariat records Chloé's ballot given in a meeting, marked as such", async () => {
      const page = await sec.get('/rounds/1');
      expect(page.text).toContain('action="/rounds/1/record#record-ballot"');
      expect(page.text).toContain('<option value="chloe@example.org">Chloé Martin (chloe@example.org)</option>');
      const form = {
        voter: 'chloe@example.org',
        position: 'approve',
        reason: '',
        note: 'by show of hands at the meeting of 12 Sept',
      };
      // First what would be recorded, beside her current ballot; nothing is recorded yet.
      const check = await post(sec, '/rounds/1/record', form);
      expect(check.status).toBe(200);
      expect(plain(check.text)).toMatch(
        /Record a ballot for Chloé Martin\?.*Their ballot now none yet.*To be recorded approve.*How it was given by show of hands at the meeting of 12 Sept/,
      );
      expect(check.text).toContain('name="confirm" value="yes"');
      expect(ballots().filter((b) => b.recordedBy)).toEqual([]);
      const res = await follow(sec, await post(sec, '/rounds/1/record', { ...form, confirm: 'yes' }));
      expect(notice(res.text)).toMatch(/ballot of Chloé Martin is recorded on their behalf: approve/);
      expect(plain(section(res.text, 'ballots-h'))).toMatch(
        /Chloé Martin approve Recorded by Sam Secretariat on their behalf: by show of hands at the meeting of 12 Sept\./,
      );
      expect(plain(section(res.text, 'manage-h'))).toContain('Everyone in the electorate has voted.');
      // Chloé sees it as her ballot, and may still change it herself.
      const hers = await chloe.get('/rounds/1');
      expect(plain(section(hers.text, 'ballot-h'))).toMatch(
        /Your counted ballot: approve ?, cast .* ?, recorded by Sam Secretariat on your behalf\./,
      );
      expect(hers.text).toContain('Change my ballot');
    });

    step('once everyone has voted the chair closes: passed', async () => {
      const res = await follow(chair, await post(chair, '/rounds/1/close', {}));
      expect(notice(res.text)).toBe('The round is closed: passed.');
      expect(res.text).toContain('the quorum was met');
      expect(res.text).toContain('<a href="/consolidations/1">publish it from consolidation 1</a>');
      expect(res.text).toMatch(/<span class="badge closed">closed<\/span>\s*<span class="badge passed">passed<\/span>/);
      expect(res.text).not.toContain('action="/rounds/1/ballots');
      expect((await post(amina, '/rounds/1/ballots', { position: 'object', reason: 'late' })).status).toBe(409);
    });
  });

  describe('publishing and the public decision record', () => {
    step('the consolidation offers publishing; members may not (403)', async () => {
      const page = await chair.get('/consolidations/1');
      expect(page.text).toContain('action="/consolidations/1/publish"');
      expect(page.text).toContain('Publish version 2');
      expect((await bruno.get('/consolidations/1')).text).not.toContain('/publish"');
      expect((await post(bruno, '/consolidations/1/publish', { summary: 'x' })).status).toBe(403);
    });

    step('the chair publishes version 2; publishing twice is refused (409)', async () => {
      const res = await follow(
        chair,
        await post(chair, '/consolidations/1/publish', { summary: 'Open records and remote participation' }),
      );
      expect(notice(res.text)).toBe(
        'Published as version 2 of Terms of Reference of the Multistakeholder Advisory Group.',
      );
      expect(res.text).toContain(`href="/documents/${SLUG}/versions/2"`);
      expect(res.text).toMatch(/<span class="badge published">published<\/span>/);
      expect(res.text).not.toContain('badge stale');
      expect(t.ctx.meta.get('documents', SLUG)!.latest).toBe(2);
      const again = await post(chair, '/consolidations/1/publish', { summary: 'again' });
      expect(again.status).toBe(409);
      expect(alertCode(again.text)).toBe('not_open');
    });

    step('the public history shows version 2 with its decision and tally bar', async () => {
      const res = await request(app).get(`/documents/${SLUG}/history`);
      expect(res.status).toBe(200);
      const v2 = res.text.slice(res.text.indexOf('id="v2"'), res.text.indexOf('id="v1"'));
      expect(v2).toContain('Open records and remote participation');
      expect(v2).toMatch(
        /<span class="badge passed">passed<\/span> Approved in round 1 · Simple majority · quorum 50% \(2 of 3 had to vote\)/,
      );
      expect(plain(v2)).toMatch(/Approve: 2 Object: 1 Abstain: 0 Not voted: 0 of 3 in the electorate/);
      expect(v2).toContain('class="tally-bar" aria-hidden="true"');
      expect(v2).toContain(`href="/documents/${SLUG}/versions/2#decision"`);
      expect(res.text).not.toContain('@example.org');
    });

    step(
      'the public version page shows the text and the full decision record with every ballot, names but no e-mails',
      async () => {
        const res = await request(app).get(`/documents/${SLUG}/versions/2`);
        expect(res.status).toBe(200);
        const prose = res.text.slice(res.text.indexOf('<article class="prose">'), res.text.indexOf('</article>'));
        expect(prose).not.toContain('Chatham House Rule');
        expect(prose).not.toContain('in person');
        const record = section(res.text, 'decision-h');
        expect(record).toContain('Decision record');
        const text = plain(record);
        expect(text).toMatch(/Rule Simple majority\./);
        expect(text).toMatch(/Quorum 50% of the electorate: at least 2 of 3 members must vote; 3 voted\./);
        expect(text).toMatch(/Electorate 3 members/);
        expect(text).toMatch(/Result passed/);
        expect(text).toMatch(/Amina Diallo abstain .* replaced by a later ballot/);
        expect(text).toMatch(/Amina Diallo approve Both changes were asked for by members\. .* counted/);
        expect(text).toMatch(/Bruno Costa object Meeting in person builds trust\. .* counted/);
        expect(text).toMatch(
          /Chloé Martin approve Recorded by Sam Secretariat on their behalf: by show of hands at the meeting of 12 Sept\./,
        );
        expect(res.text).toContain('<th scope="row">Bruno Costa</th>');
        expect(res.text).not.toContain('@example.org');
        // The decision line goes to print; the full record does not.
        expect(plain(/<p class="printonly">([\s\S]*?)<\/p>/.exec(res.text)![1])).toMatch(
          /Approved in round 1, closed 15 Jan 2026: passed under the simple majority rule, quorum 50% — 2 approve, 1 object, 0 abstain, 0 did not vote/,
        );
        expect(res.text).toContain('<section class="decision-record noprint" id="decision"');
        // The current-version page carries the same record; version 1 has none.
        expect(section((await request(app).get(`/documents/${SLUG}`)).text, 'decision-h')).toContain('Bruno Costa');
        expect((await request(app).get(`/documents/${SLUG}/versions/1`)).text).not.toContain('id="decision"');
      },
    );

    step('a consolidation made before version 2 is stale: no round (409), a rebuild instead', async () => {
      // Consolidation 2 of proposals that are now consolidated cannot be made; make one on a new proposal.
      const author = { ...t.ctx.meta.all('users').find((u) => u.email === 'amina@example.org')! };
      const actor = {
        id: author.id,
        email: author.email,
        name: author.name,
        roles: author.roles,
        groups: author.groups,
      };
      const v2 = (await request(app).get(`/documents/${SLUG}/versions/2.md`)).text;
      const p3 = await createProposal(t.ctx, actor, SLUG, {
        title: 'Shorter mandate',
        rationale: '',
        text: v2.replace('## 1. Mandate', '## 1. Our mandate'),
      });
      await shareProposal(t.ctx, actor, p3.id);
      const made = await post(chair, `/documents/${SLUG}/consolidate`, {
        proposals: String(p3.id),
        summary: 'Mandate heading',
      });
      expect(made.status).toBe(303);
      const id = Number(made.headers.location.split('/').pop());
      // Another version is published meanwhile (through the same kind of path, by the service).
      const { publishVersion } = await import('../../server/services/publishVersion.js');
      const doc = t.ctx.meta.get('documents', SLUG)!;
      await publishVersion(t.ctx, {
        slug: SLUG,
        title: doc.title,
        group: doc.group,
        text: v2 + '\nAn editorial note.\n',
        summary: 'Editorial note',
        author: { name: 'Cara Chair', email: 'chair@example.org', at: clock() },
      });
      const page = await chair.get(`/consolidations/${id}`);
      expect(page.text).toContain('<span class="badge stale">stale</span>');
      expect(page.text).toContain(`action="/consolidations/${id}/rebuild"`);
      expect(page.text).not.toContain(`action="/consolidations/${id}/rounds"`);
      const refused = await post(chair, `/consolidations/${id}/rounds`, {
        rule: 'consensus',
        quorum: '50',
        closesAt: '2026-02-01T12:00',
      });
      expect(refused.status).toBe(409);
      expect(alertCode(refused.text)).toBe('stale');
      const rebuilt = await post(chair, `/consolidations/${id}/rebuild`, {});
      expect(rebuilt.status).toBe(303);
      expect(rebuilt.headers.location).toBe(`/consolidations/${id + 1}`);
      const fresh = await follow(chair, rebuilt);
      expect(fresh.text).not.toContain('badge stale');
      expect(notice(fresh.text)).toMatch(new RegExp(`rebuilds consolidation ${id}`));
    });
  });

  describe('conflicts between two proposals', () => {
    const WS = 'workshop-process';
    const BACKBONE = 'Workshops are the backbone of the annual meeting';
    let id: number;

    step(
      'two proposals rewriting one sentence conflict: shown with the proposals involved and an "Edit to resolve" link',
      async () => {
        const u = t.ctx.meta.all('users').find((x) => x.email === 'chair@example.org')!;
        const actor = { id: u.id, email: u.email, name: u.name, roles: u.roles, groups: u.groups };
        const text = (await request(app).get(`/documents/${WS}/versions/1.md`)).text;
        const a = await createProposal(t.ctx, actor, WS, {
          title: 'Workshops are the heart',
          rationale: '',
          text: text.replace(BACKBONE, 'Workshops are the heart of the annual meeting'),
        });
        const b = await createProposal(t.ctx, actor, WS, {
          title: 'Workshops are the core',
          rationale: '',
          text: text.replace(BACKBONE, 'Workshops are the core of the annual meeting'),
        });
        await shareProposal(t.ctx, actor, a.id);
        await shareProposal(t.ctx, actor, b.id);
        const made = await post(chair, `/documents/${WS}/consolidate`, {
          proposals: [String(a.id), String(b.id)],
          summary: 'Workshop wording',
        });
        id = Number(made.headers.location.split('/').pop());
        const res = await follow(chair, made);
        expect(notice(res.text)).toMatch(/with 1 conflict to resolve/);
        const box = section(res.text, 'conflicts-h');
        expect(plain(box)).toMatch(
          new RegExp(
            `1 conflict to resolve .* Conflict 1 between proposal ${a.id} “Workshops are the heart” and proposal ${b.id} “Workshops are the core”`,
          ),
        );
        expect(box).toContain(`href="/consolidations/${id}/edit">Edit to resolve`);
        expect(box).toContain('&lt;&lt;&lt;&lt;&lt;&lt;&lt; ');
        // No round form while conflicts remain; a forced post is refused (409).
        expect(res.text).not.toContain(`action="/consolidations/${id}/rounds"`);
        const refused = await post(chair, `/consolidations/${id}/rounds`, {
          rule: 'consensus',
          quorum: '50',
          closesAt: '2026-02-01T12:00',
        });
        expect(refused.status).toBe(409);
        expect(alertCode(refused.text)).toBe('unresolved_conflicts');
      },
    );

    step(
      'the chair resolves by editing; a second editor on the old head gets 409 with the first edit shown',
      async () => {
        const page = await chair.get(`/consolidations/${id}/edit`);
        expect(page.status).toBe(200);
        expect(page.text).toContain('id="howto-h"');
        const head = /name="head" value="([0-9a-f]{40})"/.exec(page.text)![1];
        const conflicted = textareaOf(page.text, 'text')!
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&#39;/g, "'")
          .replace(/&#34;/g, '"')
          .replace(/&amp;/g, '&');
        const resolved = conflicted.replace(
          /<<<<<<< [^\n]*\n[\s\S]*?>>>>>>> [^\n]*\n/,
          (block) => block.split('\n')[1] + '\n',
        );
        expect(resolved).not.toContain('<<<<<<<');
        const saved = await follow(chair, await post(chair, `/consolidations/${id}/edit`, { text: resolved, head }));
        expect(notice(saved.text)).toMatch(/^Revision \d+ is saved\.$/);
        expect(saved.text).not.toContain('id="conflicts-h"');
        expect(saved.text).toContain(`action="/consolidations/${id}/rounds"`);
        const late = await post(sec, `/consolidations/${id}/edit`, { text: conflicted, head });
        expect(late.status).toBe(409);
        expect(alertCode(late.text)).toBe('stale_head');
        expect(late.text).toContain('Cara Chair saved revision');
        expect(textareaOf(late.text, 'text')).toContain('&lt;&lt;&lt;&lt;&lt;&lt;&lt;');
        expect(late.text).toMatch(new RegExp(`name="head" value="${t.ctx.meta.get('consolidations', id)!.head}"`));
      },
    );

    step('abandoning: the chair may, after a confirmation form; then no more editing', async () => {
      const res = await follow(chair, await post(chair, `/consolidations/${id}/abandon`, {}));
      expect(notice(res.text)).toMatch(/abandoned/);
      expect(res.text).toMatch(/<span class="badge abandoned">abandoned<\/span>/);
      expect(res.text).not.toContain('/edit"');
      expect(res.text).not.toContain('action="/consolidations/' + id + '/comments');
    });
  });

  describe('a round on a single shared proposal (an in-principle decision)', () => {
    step('its page names the proposal and its revision; the chair cancels it with a reason', async () => {
      const u = t.ctx.meta.all('users').find((x) => x.email === 'chair@example.org')!;
      const actor = { id: u.id, email: u.email, name: u.name, roles: u.roles, groups: u.groups };
      const text = (await request(app).get('/documents/workshop-process/versions/1.md')).text;
      const p = await createProposal(t.ctx, actor, 'workshop-process', {
        title: 'Three proposals per organiser is too many',
        rationale: '',
        text: text.replace('no more than three proposals', 'no more than two proposals'),
      });
      await shareProposal(t.ctx, actor, p.id);
      const { openRound } = await import('../../server/services/rounds/rounds.js');
      const r = await openRound(t.ctx, actor, {
        subject: { type: 'proposal', id: p.id },
        rule: 'consensus',
        quorum: 0.3333,
        closesAt: '2026-02-01T12:00:00Z',
      });
      const page = await bruno.get(`/rounds/${r.id}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain(
        `<h1>Round ${r.id}: Proposal ${p.id} of Workshop Proposal and Selection Process</h1>`,
      );
      expect(page.text).toContain(
        `<a href="/proposals/${p.id}">Proposal ${p.id}</a>: Three proposals per organiser is too many — revision 1`,
      );
      expect(page.text).toContain('Consensus (silence procedure). Passes if the quorum is met and nobody objects.');
      expect(page.text).toContain('33.33% of the electorate: at least 1 of 3 members must vote');
      expect(section(page.text, 'changes-h')).toMatch(/<del>three<\/del><ins>two<\/ins>/);
      const res = await follow(
        chair,
        await post(chair, `/rounds/${r.id}/cancel`, { reason: 'To be decided in the meeting.' }),
      );
      expect(notice(res.text)).toMatch(/cancelled/);
      expect(res.text).toContain('<span class="badge cancelled">cancelled</span>');
      expect(res.text).toContain('Cancelled by Cara Chair: To be decided in the meeting.');
    });
  });

  describe('CSRF and sign-in on every form', () => {
    const POSTS = [
      `/documents/${SLUG}/consolidate`,
      '/consolidations/1/rounds',
      '/consolidations/1/edit',
      '/consolidations/1/abandon',
      '/consolidations/1/rebuild',
      '/consolidations/1/publish',
      '/consolidations/1/comments',
      '/consolidations/1/comments/1/resolve',
      '/consolidations/1/comments/1/reopen',
      '/rounds/1/ballots',
      '/rounds/1/record',
      '/rounds/1/close',
      '/rounds/1/extend',
      '/rounds/1/cancel',
    ];

    test.each(POSTS)('POST %s without _csrf → 403, and without sign-in → 401', async (path) => {
      const before =
        t.ctx.meta.all('ballots').length + t.ctx.meta.all('consolidations').length + t.ctx.meta.all('comments').length;
      const res = await chair
        .post(path)
        .type('form')
        .send({ position: 'approve', reason: 'x', summary: 'x', body: 'x' });
      expect(res.status).toBe(403);
      expect(res.text).toContain('invalid_csrf');
      expect((await request(app).post(path).type('form').send({ position: 'approve' })).status).toBe(401);
      expect(
        t.ctx.meta.all('ballots').length + t.ctx.meta.all('consolidations').length + t.ctx.meta.all('comments').length,
      ).toBe(before);
    });
  });
});
