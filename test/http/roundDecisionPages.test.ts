/**
 * Decisions a committee can trust, driven through the pages as people would: the chair opens
 * an unnamed round on a consolidation in which every stakeholder group must take part; a member
 * stands aside with a reason, withdraws and votes asking to be named; another votes without;
 * plain members read the ballots by receipt, the secretariat with names; the secretariat
 * records a recusal on a member's behalf (a note is required); the tally per stakeholder group;
 * Admin › Rounds. Then the round is closed and published: the public record lists ballots by
 * receipt and names only who asked. Refusals assert their error code and that nothing changed.
 */
import { alertCode, follow, formOf, forms, notice, plain, section } from '../helpers/pages.js';
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { story } from '../helpers/story.js';

import request from 'supertest';
import type { Express } from 'express';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { createConsolidation } from '../../server/services/consolidations/consolidations.js';
import { receiptOf } from '../../server/services/rounds/decision.js';

describe('http/roundDecisionPages', () => {
  /** The tests tell one story in order; each still runs on its own (`-t`), bringing the story up to itself. */
  const step = story();

  const PASSWORD = 'a long enough password';
  const SLUG = 'terms-of-reference';
  const CHATHAM = 'Closed meetings of the Group are held under the Chatham House Rule. ';
  const IN_PERSON = 'Members are required to participate in person in the closed meetings of the Group. ';
  const clock = testClock('2026-01-15T10:00:00Z');

  let t: Awaited<ReturnType<typeof openTestApp>>;
  let app: Express;
  let chair: Agent; // chair, not a member
  let sec: Agent; // secretariat, not a member
  let amina: Agent; // member, government; votes without asking to be named
  let bruno: Agent; // member, civil society; stands aside, withdraws, votes asking to be named
  let chloe: Agent; // member, civil society; reads the round as a plain member, votes last
  let dara: Agent; // member, government; stands aside through the secretariat
  const ids: Record<string, number> = {};

  const round = () => t.ctx.meta.get('rounds', 1)!;
  const rounds = () => t.ctx.meta.all('rounds');
  const ballots = () => t.ctx.meta.all('ballots');

  const { post } = forms('/rounds');

  /** The receipt codes listed in a ballots table. */
  const receiptsIn = (html: string) => [...html.matchAll(/<code class="receipt">([^<]*)<\/code>/g)].map((m) => m[1]);
  /** The rows of a ballots table, as plain text. */
  const rowsIn = (html: string) =>
    [...html.matchAll(/<tr class="[^"]*">([\s\S]*?)<\/tr>/g)].map((m) => plain(m[1]).trim());

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
      makeUser(t.ctx, { email: 'dara@example.org', name: 'Dara Okafor', roles: ['member'], password: PASSWORD }),
    ]);
    for (const u of users) ids[u.email.split('@')[0]] = u.id;
    [chair, sec, amina, bruno, chloe, dara] = await Promise.all(users.map((u) => signedIn(app, u.email, PASSWORD)));

    // Two shared proposals consolidated by the chair (the pages for these are tested elsewhere).
    const author = users[2].actor;
    const published = (await request(app).get(`/documents/${SLUG}/versions/1.md`)).text;
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
    await createConsolidation(t.ctx, users[0].actor, SLUG, {
      proposals: [a.id, b.id],
      summary: 'Open and hybrid meetings',
    });
  }, 60_000);

  afterAll(async () => {
    await t?.cleanup();
  });

  describe('stakeholder groups and opening an unnamed round', () => {
    step('without stakeholder groups the form says the conditions have nothing to check', async () => {
      const res = await chair.get('/consolidations/1');
      expect(res.status).toBe(200);
      const form = formOf(res.text, '/consolidations/1/rounds');
      expect(form).toContain('<legend>Record</legend>');
      // The site's default (unnamed, as the seeded terms of reference ask) is chosen until Admin › Rounds says otherwise.
      expect(form).toMatch(/value="unnamed" checked/);
      expect(form).not.toMatch(/value="named" checked/);
      expect(form).toContain('name="eachGroupTakesPart" value="yes"');
      expect(form).toContain('No member is in a stakeholder group yet');
    });

    step('members are put in stakeholder groups (written directly: the admin form is elsewhere)', async () => {
      const at = clock().toISOString();
      const users: Record<string, unknown> = {};
      for (const [who, slug] of [
        ['amina', 'government'],
        ['dara', 'government'],
        ['bruno', 'civil-society'],
        ['chloe', 'civil-society'],
      ]) {
        users[ids[who]] = { ...t.ctx.meta.get('users', ids[who])!, stakeholder: slug };
      }
      const stakeholders = {
        government: { slug: 'government', name: 'Government', createdAt: at },
        'civil-society': { slug: 'civil-society', name: 'Civil society', createdAt: at },
      };
      await t.ctx.meta.write({ actor: null, at: clock(), events: [], puts: { users, stakeholders } as never });
      const form = formOf((await chair.get('/consolidations/1')).text, '/consolidations/1/rounds');
      expect(form).not.toContain('No member is in a stakeholder group yet');
    });

    step('an unknown record is refused with 400, the form kept, nothing opened', async () => {
      const res = await post(chair, '/consolidations/1/rounds', {
        rule: 'majority',
        quorum: '50',
        closesAt: '2026-01-22T17:00',
        record: 'secret',
        eachGroupTakesPart: 'yes',
      });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('invalid_record');
      expect(res.text).toMatch(/name="eachGroupTakesPart" value="yes" checked/);
      expect(rounds()).toHaveLength(0);
      expect(t.ctx.meta.get('consolidations', 1)!.openRound).toBeNull();
    });

    step('a member may not open a round (403)', async () => {
      const res = await post(bruno, '/consolidations/1/rounds', {
        rule: 'majority',
        quorum: '50',
        closesAt: '2026-01-22T17:00',
        record: 'unnamed',
      });
      expect(res.status).toBe(403);
      expect(rounds()).toHaveLength(0);
    });

    step('the chair opens an unnamed majority round in which every stakeholder group must take part', async () => {
      const made = await post(chair, '/consolidations/1/rounds', {
        rule: 'majority',
        quorum: '50',
        closesAt: '2026-01-22T17:00',
        record: 'unnamed',
        eachGroupTakesPart: 'yes',
      });
      expect(made.headers.location).toBe('/rounds/1');
      expect(round()).toMatchObject({
        record: 'unnamed',
        conditions: { eachGroupTakesPart: true, ruleWithinEachGroup: false },
        stakeholderOf: {
          [ids.amina]: 'government',
          [ids.dara]: 'government',
          [ids.bruno]: 'civil-society',
          [ids.chloe]: 'civil-society',
        },
        recusals: [],
      });
      expect(round().electorate).toHaveLength(4);
      const res = await follow(chair, made);
      expect(notice(res.text)).toMatch(/Round 1 is open/);
      const facts = plain(res.text);
      expect(facts).toMatch(
        /Record Unnamed: the record gives every position and reason by receipt, without names, except for members who ask to be named\./,
      );
      expect(facts).toMatch(/Conditions Every stakeholder group in the electorate must cast at least one ballot\./);
      expect(facts).not.toContain('The rule must also hold within each stakeholder group');
    });
  });

  describe('standing aside, and voting by receipt', () => {
    step('a member sees the ballot form, the "name me" box and the stand-aside form', async () => {
      const res = await bruno.get('/rounds/1');
      expect(res.text).toContain('action="/rounds/1/ballots#your-ballot"');
      expect(res.text).toContain('name="named" value="yes"');
      expect(res.text).toContain('action="/rounds/1/recuse#your-ballot"');
      expect(res.text).not.toContain('action="/rounds/1/recusal/withdraw');
      // Every elector has a receipt from the start.
      expect(plain(section(res.text, 'ballot-h'))).toContain(
        `Your receipt in this round: ${receiptOf(round(), ids.bruno)}`,
      );
    });

    step('standing aside needs a reason (400 beside the form, nothing written)', async () => {
      const res = await post(bruno, '/rounds/1/recuse', { reason: '   ' });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('reason_required');
      expect(formOf(res.text, '/rounds/1/recuse')).toContain('data-code="reason_required"');
      expect(res.text).toMatch(/<details class="confirm" open>\s*<summary>Stand aside/);
      expect(round().recusals).toEqual([]);
    });

    step(
      'Bruno stands aside with a reason: he sees it, the ballot form is gone, a forced ballot is refused (409)',
      async () => {
        const res = await follow(
          bruno,
          await post(bruno, '/rounds/1/recuse', { reason: 'I drafted one of the proposals for my employer.' }),
        );
        expect(notice(res.text)).toMatch(/^You stand aside from this round/);
        expect(round().recusals).toEqual([
          expect.objectContaining({
            voterId: ids.bruno,
            reason: 'I drafted one of the proposals for my employer.',
            recordedBy: null,
          }),
        ]);
        expect(plain(section(res.text, 'ballot-h'))).toMatch(
          /You stand aside from this round \(“I drafted one of the proposals for my employer\.”\): you do not vote in it/,
        );
        expect(plain(section(res.text, 'tally-h'))).toMatch(
          /Recusals Bruno Costa stood aside: “I drafted one of the proposals for my employer\.”/,
        );
        // The electorate counted is the three who may vote; the recusal is said beside it.
        expect(plain(section(res.text, 'tally-h'))).toMatch(/Not voted: 3 of 3 in the electorate \(1 recused\)/);
        expect(res.text).not.toContain('action="/rounds/1/ballots');
        expect(res.text).not.toContain('action="/rounds/1/recuse#');
        expect(res.text).toContain('action="/rounds/1/recusal/withdraw#your-ballot"');
        const forced = await post(bruno, '/rounds/1/ballots', { position: 'approve', reason: '' });
        expect(forced.status).toBe(409);
        expect(alertCode(forced.text)).toBe('recused');
        expect(ballots()).toHaveLength(0);
        // Standing aside twice is refused too.
        const twice = await post(bruno, '/rounds/1/recuse', { reason: 'again' });
        expect(twice.status).toBe(409);
        expect(alertCode(twice.text)).toBe('already_recused');
        expect(round().recusals).toHaveLength(1);
      },
    );

    step('a member with no recusal has nothing to withdraw (409)', async () => {
      const res = await post(chloe, '/rounds/1/recusal/withdraw', {});
      expect(res.status).toBe(409);
      expect(alertCode(res.text)).toBe('not_recused');
      expect(round().recusals).toHaveLength(1);
    });

    step('Bruno withdraws, and votes asking to be named', async () => {
      let res = await follow(bruno, await post(bruno, '/rounds/1/recusal/withdraw', {}));
      expect(notice(res.text)).toBe('Your recusal is withdrawn: you may vote in this round again.');
      expect(round().recusals).toEqual([]);
      expect(res.text).toContain('action="/rounds/1/ballots#your-ballot"');
      expect(plain(section(res.text, 'tally-h'))).toContain('No member stood aside.');
      res = await follow(
        bruno,
        await post(bruno, '/rounds/1/ballots', {
          position: 'approve',
          reason: 'Hybrid meetings let more of us take part.',
          named: 'yes',
        }),
      );
      const receipt = receiptOf(round(), ids.bruno);
      expect(notice(res.text)).toBe(
        `Your ballot is recorded: approve. Your receipt is ${receipt}. You may change it until the round closes.`,
      );
      expect(ballots()).toEqual([
        expect.objectContaining({ voterId: ids.bruno, position: 'approve', named: true, recordedBy: null }),
      ]);
      // The box stays ticked for a change of ballot.
      expect(res.text).toMatch(/name="named" value="yes" checked/);
    });

    step('Amina votes without asking to be named; her receipt is in the notice and on her page', async () => {
      const res = await follow(
        amina,
        await post(amina, '/rounds/1/ballots', { position: 'approve', reason: 'Open records serve the public.' }),
      );
      const receipt = receiptOf(round(), ids.amina);
      expect(notice(res.text)).toContain(`Your receipt is ${receipt}.`);
      expect(ballots().find((b) => b.voterId === ids.amina)).not.toHaveProperty('named');
      const mine = section(res.text, 'ballot-h');
      expect(mine).toContain(`Your receipt in this round: <code class="receipt">${receipt}</code>`);
      expect(plain(mine)).toContain('without your name unless you ask to be named');
      // Her own row: her receipt, marked as hers.
      const row = rowsIn(section(res.text, 'ballots-h')).find((x) => x.startsWith(receipt));
      expect(row).toMatch(/\(you\) approve Open records serve the public\./);
    });

    step('a plain member reads the ballots by receipt: the named voter has a name, the unnamed one none', async () => {
      const res = await chloe.get('/rounds/1');
      const table = section(res.text, 'ballots-h');
      expect(table).toContain('<th scope="col">Receipt</th>');
      expect(table).toContain('The record is unnamed: ballots are listed by receipt');
      expect(receiptsIn(table)).toEqual([receiptOf(round(), ids.bruno), receiptOf(round(), ids.amina)]);
      const rows = rowsIn(table);
      expect(rows[0]).toMatch(
        new RegExp(
          `^${receiptOf(round(), ids.bruno)} Bruno Costa approve Hybrid meetings let more of us take part\\. .* counted$`,
        ),
      );
      expect(rows[1]).toMatch(
        new RegExp(`^${receiptOf(round(), ids.amina)} approve Open records serve the public\\. .* counted$`),
      );
      expect(table).toContain('Bruno Costa');
      expect(table).not.toContain('Amina Diallo');
      expect(table).not.toContain('(you)');
      // Nor anywhere else on her page: the not-voted list and the electorate are for officers.
      expect(res.text).not.toContain('Amina Diallo');
      expect(res.text).not.toContain('@example.org</option>');
      // Her own receipt, though she has not voted yet.
      expect(section(res.text, 'ballot-h')).toContain(`<code class="receipt">${receiptOf(round(), ids.chloe)}</code>`);
    });

    step('the secretariat reads the same ballots with every name', async () => {
      const res = await sec.get('/rounds/1');
      const rows = rowsIn(section(res.text, 'ballots-h'));
      expect(rows[0]).toMatch(new RegExp(`^${receiptOf(round(), ids.bruno)} Bruno Costa approve`));
      expect(rows[1]).toMatch(new RegExp(`^${receiptOf(round(), ids.amina)} Amina Diallo approve`));
      // The chair too (an officer).
      expect(section((await chair.get('/rounds/1')).text, 'ballots-h')).toContain('Amina Diallo');
    });
  });

  describe("a recusal recorded on a member's behalf", () => {
    step('only the secretariat has the form (the chair by default not; members get 403)', async () => {
      const page = await sec.get('/rounds/1');
      const form = formOf(page.text, '/rounds/1/record-recusal');
      expect(form).toContain('<option value="dara@example.org">Dara Okafor (dara@example.org)</option>');
      expect(form).toContain('<label for="recusal-note">');
      expect((await chair.get('/rounds/1')).text).not.toContain('action="/rounds/1/record-recusal#record-recusal"');
      const member = await post(chloe, '/rounds/1/record-recusal', {
        voter: 'dara@example.org',
        reason: 'x',
        note: 'y',
      });
      expect(member.status).toBe(403);
      const byChair = await post(chair, '/rounds/1/record-recusal', {
        voter: 'dara@example.org',
        reason: 'x',
        note: 'y',
      });
      expect(byChair.status).toBe(403);
      expect(round().recusals).toEqual([]);
    });

    step('without a note: 400, the error beside the form, what was typed kept, nothing written', async () => {
      const before = JSON.stringify(round());
      const res = await post(sec, '/rounds/1/record-recusal', {
        voter: 'dara@example.org',
        reason: 'Her ministry submitted one of the proposals.',
        note: '  ',
      });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('note_required');
      const form = formOf(res.text, '/rounds/1/record-recusal');
      expect(form).toMatch(/role="alert" id="form-error" data-code="note_required"/);
      expect(form).toContain('<option value="dara@example.org" selected>');
      expect(form).toContain('Her ministry submitted one of the proposals.');
      // Only one alert on the page: not repeated at the top.
      expect(res.text.match(/role="alert"/g)).toHaveLength(1);
      expect(JSON.stringify(round())).toBe(before);
    });

    step('an unknown member is refused (400 invalid_voter), nothing written', async () => {
      const res = await post(sec, '/rounds/1/record-recusal', {
        voter: 'nobody@example.org',
        reason: 'x',
        note: 'at the meeting',
      });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('invalid_voter');
      expect(round().recusals).toEqual([]);
    });

    step(
      'with a note: recorded, named in the record with who recorded it and how; Dara sees it on her page',
      async () => {
        const res = await follow(
          sec,
          await post(sec, '/rounds/1/record-recusal', {
            voter: 'dara@example.org',
            reason: 'Her ministry submitted one of the proposals.',
            note: 'said so at the meeting of 14 January',
          }),
        );
        expect(notice(res.text)).toBe('The recusal of Dara Okafor is recorded. They have been told by mail.');
        expect(round().recusals).toEqual([
          expect.objectContaining({
            voterId: ids.dara,
            recordedBy: ids.sec,
            note: 'said so at the meeting of 14 January',
          }),
        ]);
        expect(plain(section(res.text, 'tally-h'))).toContain(
          'Dara Okafor stood aside: “Her ministry submitted one of the proposals.” (recorded by Sam Secretariat: said so at the meeting of 14 January)',
        );
        // No longer offered for another recusal.
        expect(formOf(res.text, '/rounds/1/record-recusal')).not.toContain('dara@example.org');
        const hers = await dara.get('/rounds/1');
        expect(plain(section(hers.text, 'ballot-h'))).toContain(
          'You stand aside from this round (“Her ministry submitted one of the proposals.”)',
        );
        expect(hers.text).not.toContain('action="/rounds/1/ballots');
      },
    );

    step('the quorum and the not-voted list leave the recused member out', async () => {
      const res = await chair.get('/rounds/1');
      expect(plain(res.text)).toContain(
        '50% of the electorate: at least 2 of 3 members must vote (1 recused, not counted). 2 voted so far: the quorum is met.',
      );
      expect(plain(section(res.text, 'manage-h'))).toMatch(/1 member of 3 has not voted: Chloé Martin/);
    });

    step(
      'the secretariat withdraws a recusal on her behalf only with a note (400 beside the form, nothing written), then records it again',
      async () => {
        const before = JSON.stringify(round());
        const refused = await post(sec, '/rounds/1/withdraw-recusal-for', { voter: 'dara@example.org', note: ' ' });
        expect(refused.status).toBe(400);
        expect(alertCode(refused.text)).toBe('note_required');
        expect(formOf(refused.text, '/rounds/1/withdraw-recusal-for')).toMatch(/data-code="note_required"/);
        expect(JSON.stringify(round())).toBe(before);
        expect(
          (await post(chloe, '/rounds/1/withdraw-recusal-for', { voter: 'dara@example.org', note: 'x' })).status,
        ).toBe(403);
        const done = await follow(
          sec,
          await post(sec, '/rounds/1/withdraw-recusal-for', {
            voter: 'dara@example.org',
            note: 'by e-mail of 15 January',
          }),
        );
        expect(notice(done.text)).toBe(
          'The recusal of Dara Okafor is withdrawn: they are in the electorate again. They have been told by mail.',
        );
        expect(round().recusals).toEqual([]);
        await post(sec, '/rounds/1/record-recusal', {
          voter: 'dara@example.org',
          reason: 'Her ministry submitted one of the proposals.',
          note: 'said so at the meeting of 14 January',
        });
        expect(round().recusals).toHaveLength(1);
      },
    );
  });

  describe('the tally per stakeholder group', () => {
    step('a table with one row per group, counting ballots, not voted and recused', async () => {
      const res = await chloe.get('/rounds/1');
      const tally = section(res.text, 'tally-h');
      expect(tally).toContain('<h3>By stakeholder group</h3>');
      // In a box of its own that scrolls sideways on a phone, reachable from the keyboard.
      expect(tally).toContain(
        '<div class="table-scroll" role="region" aria-label="Ballots by stakeholder group" tabindex="0">\n<table class="list groups">',
      );
      const rows = [...tally.matchAll(/<tr><th scope="row">([\s\S]*?)<\/tr>/g)].map((m) => plain('<th>' + m[1]).trim());
      // Sorted by slug: civil-society, government.
      expect(rows).toEqual(['Civil society 1 0 0 1 0', 'Government 1 0 0 0 1']);
      expect(plain(tally)).toMatch(/Approve: 2 Object: 0 Abstain: 0 Not voted: 1 of 3 in the electorate \(1 recused\)/);
    });
  });

  describe('Admin › Rounds', () => {
    step('a plain member gets 403 for the page and the form; nothing changes', async () => {
      expect((await bruno.get('/admin/rounds')).status).toBe(403);
      const res = await post(bruno, '/admin/rounds', { defaultRecord: 'unnamed', chairMayRecord: 'yes' });
      expect(res.status).toBe(403);
      expect(t.ctx.meta.get('settings', 'rounds')).toEqual({ defaultRecord: 'unnamed', chairMayRecord: false });
      expect((await request(app).get('/admin/rounds')).status).toBe(401);
    });

    step(
      'the form shows the seeded defaults: unnamed records (the terms of reference, §7), secretariat-only proxies',
      async () => {
        const res = await sec.get('/admin/rounds');
        expect(res.status).toBe(200);
        expect(res.text).toMatch(/name="defaultRecord" value="unnamed" checked/);
        expect(res.text).not.toMatch(/name="defaultRecord" value="named" checked/);
        expect(res.text).not.toMatch(/name="chairMayRecord" value="yes" checked/);
      },
    );

    step('without a CSRF token: 403, nothing saved', async () => {
      const res = await sec
        .post('/admin/rounds')
        .type('form')
        .send({ defaultRecord: 'unnamed', chairMayRecord: 'yes' });
      expect(res.status).toBe(403);
      expect(res.text).toContain('invalid_csrf');
      expect(t.ctx.meta.get('settings', 'rounds')).toEqual({ defaultRecord: 'unnamed', chairMayRecord: false });
    });

    step('a record that is neither named nor unnamed is refused (400), nothing saved', async () => {
      const res = await post(sec, '/admin/rounds', { defaultRecord: 'secret', chairMayRecord: 'yes' });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('invalid_record');
      expect(t.ctx.meta.get('settings', 'rounds')).toEqual({ defaultRecord: 'unnamed', chairMayRecord: false });
    });

    step("the secretariat saves unnamed records by default and lets the chair record on members' behalf", async () => {
      const res = await follow(
        sec,
        await post(sec, '/admin/rounds', { defaultRecord: 'unnamed', chairMayRecord: 'yes' }),
      );
      expect(notice(res.text)).toBe('The round settings were saved.');
      expect(t.ctx.meta.get('settings', 'rounds')).toEqual({ defaultRecord: 'unnamed', chairMayRecord: true });
      expect(res.text).toMatch(/name="defaultRecord" value="unnamed" checked/);
      expect(res.text).toMatch(/name="chairMayRecord" value="yes" checked/);
      // The chair now has the forms to record on members' behalf.
      const page = await chair.get('/rounds/1');
      expect(page.text).toContain('action="/rounds/1/record#record-ballot"');
      expect(page.text).toContain('action="/rounds/1/record-recusal#record-recusal"');
    });

    step("unticking the box takes the chair's forms away again", async () => {
      await follow(sec, await post(sec, '/admin/rounds', { defaultRecord: 'unnamed' }));
      expect(t.ctx.meta.get('settings', 'rounds')).toEqual({ defaultRecord: 'unnamed', chairMayRecord: false });
      expect((await chair.get('/rounds/1')).text).not.toContain('action="/rounds/1/record#record-ballot"');
    });
  });

  describe('the public record of an unnamed round', () => {
    step('Chloé votes; the chair closes (every group took part) and publishes version 2', async () => {
      await follow(
        chloe,
        await post(chloe, '/rounds/1/ballots', { position: 'object', reason: 'Recordings will chill debate.' }),
      );
      const closed = await follow(chair, await post(chair, '/rounds/1/close', {}));
      expect(notice(closed.text)).toBe('The round is closed: passed.');
      const res = await follow(
        chair,
        await post(chair, '/consolidations/1/publish', { summary: 'Open records and remote participation' }),
      );
      expect(notice(res.text)).toMatch(/^Published as version 2 of /);
    });

    step('the version page lists ballots by receipt and names only the member who asked', async () => {
      const res = await request(app).get(`/documents/${SLUG}/versions/2`);
      expect(res.status).toBe(200);
      const record = section(res.text, 'decision-h');
      const text = plain(record);
      expect(text).toContain('Record Unnamed: the record gives every position and reason by receipt');
      expect(text).toContain('Conditions Every stakeholder group in the electorate must cast at least one ballot.');
      expect(text).toContain('Dara Okafor stood aside: “Her ministry submitted one of the proposals.”');
      expect(record).toContain('<table class="list groups">');
      const rows = rowsIn(record.slice(record.indexOf('<table class="list ballots">')));
      const r = round();
      expect(rows[0]).toMatch(
        new RegExp(`^${receiptOf(r, ids.bruno)} Bruno Costa approve Hybrid meetings let more of us take part\\.`),
      );
      expect(rows[1]).toMatch(new RegExp(`^${receiptOf(r, ids.amina)} approve Open records serve the public\\.`));
      expect(rows[2]).toMatch(new RegExp(`^${receiptOf(r, ids.chloe)} object Recordings will chill debate\\.`));
      expect(res.text).not.toContain('Amina Diallo');
      expect(res.text).not.toContain('Chloé Martin');
      expect(res.text).not.toContain('@example.org');
    });
  });
});
