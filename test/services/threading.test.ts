/**
 * Mail threads right in every client (issue 13): the outbox of a full amendment — two
 * proposals, comments, a consolidation, a round with own, recorded and recused ballots, a
 * reminder, the result and the publication — read back from its .eml files with mailparser and
 * threaded per recipient by a JWZ pass (the algorithm mutt and Thunderbird use, written here).
 * Every recipient sees one root per proposal and per consolidation, and no missing parent.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { simpleParser } from 'mailparser';
import { publishConsolidation } from '../../server/services/consolidations/publish.js';
import { MailWorker } from '../../server/services/notifications/deliver.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { closeRound, openRound, sweepRounds } from '../../server/services/rounds/rounds.js';
import { castBallot, recuse } from '../../server/services/rounds/ballots.js';
import { outboxTransport } from '../../server/store/mail/transport.js';
import { testClock, type TestData } from '../helpers/data.js';
import { openWithConsolidation } from '../helpers/people.js';

describe('services/threading', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  interface Msg {
    id: string;
    to: string;
    references: string[];
  }

  interface Container {
    id: string;
    msg?: Msg;
    parent?: Container;
    children: Container[];
  }

  /** JWZ threading (jwz.org/doc/threading.html, steps 1 and 2): containers by id, linked along References. */
  function thread(msgs: Msg[]): Container[] {
    const table = new Map<string, Container>();
    const get = (id: string) => {
      let c = table.get(id);
      if (!c) table.set(id, (c = { id, children: [] }));
      return c;
    };
    const isAncestor = (a: Container, b: Container): boolean => {
      for (let x: Container | undefined = b; x; x = x.parent) if (x === a) return true;
      return false;
    };
    const link = (parent: Container, child: Container) => {
      if (child.parent || parent === child || isAncestor(child, parent)) return;
      child.parent = parent;
      parent.children.push(child);
    };
    for (const m of msgs) {
      const c = get(m.id);
      c.msg = m;
      let prev: Container | undefined;
      for (const ref of m.references) {
        const r = get(ref);
        if (prev) link(prev, r);
        prev = r;
      }
      if (prev && !isAncestor(c, prev)) {
        if (c.parent) c.parent.children = c.parent.children.filter((x) => x !== c);
        c.parent = undefined;
        link(prev, c);
      }
    }
    return [...table.values()].filter((c) => !c.parent);
  }

  /** The subject (proposal or consolidation) a message is about, from its logical id. */
  function subjectOf(t: TestData, id: string): string {
    const local = id.slice(1, id.indexOf('@'));
    const [head] = local.split('.');
    const n = (s: string) => Number(/(\d+)$/.exec(s)![1]);
    if (head.startsWith('proposal-')) return `proposal ${n(head)}`;
    if (head.startsWith('consolidation-')) return `consolidation ${n(head)}`;
    if (head.startsWith('round-')) {
      const r = t.ctx.meta.get('rounds', n(head))!;
      return `${r.subject.type} ${r.subject.id}`;
    }
    if (head.startsWith('comment-')) {
      const c = t.ctx.meta.get('comments', n(head))!;
      return `${c.subject.type} ${c.subject.id}`;
    }
    const v = /-v(\d+)$/.exec(head);
    if (v) {
      const version = t.ctx.meta.all('versions').find((x) => x.number === Number(v[1]) && x.consolidation);
      return `consolidation ${version!.consolidation}`;
    }
    return head;
  }

  async function amendment(listAddress?: string) {
    const clock = testClock('2026-03-01T09:00:00Z');
    const { t, ctx, who, p1, p2, c } = await openWithConsolidation({ clock, listAddress });
    cleanups.push(() => t.cleanup());
    const on = (id: number) => proposalCommentable(ctx, ctx.meta.get('proposals', id)!);
    const first = await addComment(ctx, who.m1.actor, on(p1.id), { body: 'Why now?' });
    await addComment(ctx, who.m2.actor, on(p1.id), { body: 'Because.', replyTo: first.id });
    await addComment(ctx, who.m3.actor, on(p2.id), { body: 'Remote is good.' });
    const r = await openRound(ctx, who.chair.actor, {
      subject: { type: 'consolidation', id: c.id },
      rule: 'majority',
      quorum: 0.5,
      closesAt: '2026-03-08T17:00:00Z',
    });
    await castBallot(ctx, who.m1.actor, r.id, { position: 'approve' });
    await castBallot(ctx, who.sec.actor, r.id, { position: 'approve', voter: who.m2.email, note: 'at the meeting' });
    await recuse(ctx, who.m3.actor, r.id, { reason: 'Conflict of interest.' });
    clock.set('2026-03-07T20:00:00Z');
    await sweepRounds(ctx); // the reminder to those who have not voted
    await castBallot(ctx, who.drafter.actor, r.id, { position: 'approve' });
    clock.set('2026-03-08T17:00:01Z');
    await closeRound(ctx, who.chair.actor, r.id);
    await publishConsolidation(ctx, who.chair.actor, c.id, { summary: 'Open and remote meetings' });

    const dir = path.join(t.dataDir, 'outbox');
    const outbox = outboxTransport(dir);
    cleanups.push(async () => outbox.close());
    const worker = new MailWorker(ctx, outbox, 'ratify@ratify.test');
    while ((await worker.tick(500)) > 0);
    const files = (await fsp.readdir(dir)).filter((f) => f.endsWith('.eml')).sort();
    const msgs: Msg[] = [];
    for (const f of files) {
      const raw = await fsp.readFile(path.join(dir, f));
      expect(raw.includes('\n') && !/[^\r]\n/.test(raw.toString('utf8'))).toBe(true);
      const p = await simpleParser(raw);
      const refs = p.references === undefined ? [] : Array.isArray(p.references) ? p.references : [p.references];
      const to = (Array.isArray(p.to) ? p.to : [p.to]).flatMap((a) => a?.value.map((v) => v.address!) ?? []);
      expect(to).toHaveLength(1);
      expect(p.headers.has('bcc')).toBe(false);
      if (refs.length) expect(p.inReplyTo).toBe(refs.at(-1));
      msgs.push({ id: p.messageId!, to: to[0], references: refs });
    }
    return { t, msgs, who };
  }

  function checkPerRecipient(t: TestData, msgs: Msg[]) {
    const byRecipient = new Map<string, Msg[]>();
    for (const m of msgs) byRecipient.set(m.to, [...(byRecipient.get(m.to) ?? []), m]);
    expect(new Set(msgs.map((m) => m.id)).size).toBe(msgs.length);
    for (const [to, mine] of byRecipient) {
      const roots = thread(mine);
      // No missing parent: every container the references made holds a message this recipient has.
      const empty: string[] = [];
      const walk = (c: Container) => {
        if (!c.msg) empty.push(c.id);
        c.children.forEach(walk);
      };
      roots.forEach(walk);
      expect({ to, missing: empty }).toEqual({ to, missing: [] });
      // One root per proposal and per consolidation the recipient was mailed about.
      const rootSubjects = roots.map((c) => subjectOf(t, c.id)).sort();
      const subjects = [...new Set(mine.map((m) => subjectOf(t, m.id)))].sort();
      expect({ to, roots: rootSubjects }).toEqual({ to, roots: subjects });
    }
    return byRecipient;
  }

  describe('threads per recipient (JWZ over the outbox of a full amendment)', () => {
    test('without a list address: every member gets their own copies; one root per proposal and consolidation, no missing parent', async () => {
      const { t, msgs, who } = await amendment();
      const by = checkPerRecipient(t, msgs);
      // Everyone in the committee who is a member got mail, each only their own copies.
      for (const p of [who.drafter, who.chair, who.m1, who.m2, who.m3])
        expect(by.get(p.email)?.length).toBeGreaterThan(3);
      expect(msgs.length).toBeGreaterThan(20);
    });

    test('with a list address: the list and each elector thread on their own', async () => {
      const { t, msgs } = await amendment('list@ratify.test');
      const by = checkPerRecipient(t, msgs);
      expect(by.get('list@ratify.test')!.length).toBeGreaterThanOrEqual(5);
    });
  });
});
