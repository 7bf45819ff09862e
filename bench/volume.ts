/**
 * A data folder at a chosen fraction of ten years' volume (issues 17 and 18), made through the
 * real services on a real `openData` context, so every record is one the product writes itself.
 * BENCH_SCALE=1: 5,000 proposals, 100,000 comments, 50,000 ballots, 1,000 rounds, 40
 * publications, 200 users (and whatever mail that activity queues, left waiting: nothing
 * delivers it here). Default scale 0.1; BENCH_SCALE=3 is the thirty-year projection.
 *
 * The folder is kept in the system's temporary folder, named by scale and by a hash of this
 * file, and reused by the next run: copy it (`copyVolume`) before anything writes to it.
 *
 * Time is simulated: each call runs at its own moment of the span (AsyncLocalStorage), the
 * span is ten years × scale, cut into one epoch per publication: proposals, comments, rounds
 * with ballots, then a consolidation voted on and published. 12 calls are in flight at a time
 * (the journal groups their fsyncs). Run alone: `BENCH_SCALE=0.01 npx tsx bench/volume.ts`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { openData } from '../server/bootstrap.js';
import type { Actor } from '../server/domain/actor.js';
import { CLI_ACTOR } from '../server/domain/actor.js';
import { actorOf, addUser } from '../server/services/accounts/users.js';
import { createToken } from '../server/services/auth/tokens.js';
import { createConsolidation } from '../server/services/consolidations/consolidations.js';
import { publishConsolidation } from '../server/services/consolidations/publish.js';
import { addDocument } from '../server/services/addDocument.js';
import { proposalCommentable } from '../server/services/proposals/commentable.js';
import { addComment } from '../server/services/proposals/comments.js';
import { createProposal, shareProposal } from '../server/services/proposals/proposals.js';
import { castBallot } from '../server/services/rounds/ballots.js';
import { closeRound, openRound } from '../server/services/rounds/rounds.js';
import { DEFAULT_MAIL_RETENTION_DAYS, pruneMailBodies } from '../server/services/notifications/deliver.js';
import type { MailRecord } from '../server/domain/records.js';
import { COLD_ROW_LAYOUT } from '../server/store/meta/coldRecords.js';
import { COLD } from '../server/store/meta/indexes.js';
import { documentsDir, log } from './common.js';
import {
  count,
  latestText,
  PASSWORD,
  plan,
  pool,
  proposalTextOf,
  random,
  scaleOf,
  SENTENCES,
  shares,
  type VolumeInfo,
} from './volumeKit.js';

export { PASSWORD, plan, scaleOf, type VolumeInfo };

const YEAR = 365.25 * 86_400_000;
const DAY = 86_400_000;
const IN_FLIGHT = 12;

/**
 * The generator's sources, the cold files' row layout and which kinds go cold: a change to any
 * makes a new folder (a folder of before would be upgraded at each start, timed with it).
 */
const hash = () => {
  const h = createHash('sha256');
  h.update(`cold rows ${COLD_ROW_LAYOUT}; cold kinds ${Object.keys(COLD).join(' ')}`);
  for (const f of ['volume.ts', 'volumeKit.ts'])
    h.update(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), f)));
  return h.digest('hex').slice(0, 10);
};
export const cacheDir = (scale: number) => path.join(os.tmpdir(), `ratify-bench-volume-${scale}-${hash()}`);

/** The cached folder at this scale (`<dir>/data`, `<dir>/info.json`), generated when missing. */
export async function volume(scale: number): Promise<{ dataDir: string; info: VolumeInfo; cached: boolean }> {
  const dir = cacheDir(scale);
  try {
    const info = JSON.parse(await fsp.readFile(path.join(dir, 'info.json'), 'utf8')) as VolumeInfo;
    log(`volume: reusing ${dir} (generated in ${(info.generationMs / 1000).toFixed(0)} s)`);
    return { dataDir: path.join(dir, 'data'), info, cached: true };
  } catch {
    // not made yet
  }
  const scratch = `${dir}.making-${process.pid}`;
  await fsp.rm(scratch, { recursive: true, force: true });
  await fsp.mkdir(scratch, { recursive: true, mode: 0o700 });
  const info = await generate(path.join(scratch, 'data'), scale);
  await fsp.writeFile(path.join(scratch, 'info.json'), JSON.stringify(info, null, 1));
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.rename(scratch, dir);
  return { dataDir: path.join(dir, 'data'), info, cached: false };
}

/**
 * Every waiting message recorded sent now, 64 to a store write (the worker's batch), as the mail worker records a
 * message a transport took (the generator does not build and send ~1.5 million messages: the
 * drain of part 8 measures that).
 */
async function sendAllWaiting(ctx: Awaited<ReturnType<typeof openData>>['ctx']): Promise<void> {
  for (;;) {
    const waiting = ctx.meta.oldest('mails', 'due', 'pending', 64);
    if (!waiting.length) return;
    const now = ctx.clock().toISOString();
    const puts: Record<number, MailRecord> = {};
    for (const m of waiting) puts[m.id] = { ...m, state: 'sent', attempts: 1, sentAt: now, lastError: null };
    await ctx.meta.write({ actor: null, at: ctx.clock(), events: [], puts: { mails: puts } });
  }
}

/** A copy to write to (the cached folder stays as generated). */
export async function copyVolume(dataDir: string, to: string): Promise<void> {
  await fsp.cp(dataDir, to, { recursive: true });
}

export async function generate(dataDir: string, scale: number): Promise<VolumeInfo> {
  const p = plan(scale);
  const t0 = performance.now();
  const rnd = random(Math.round(scale * 1e6) + 17);
  const span = Math.max(30 * DAY * p.publications, 10 * YEAR * scale);
  const start = Date.now() - span - DAY;
  const when = new AsyncLocalStorage<number>();
  const clock = () => new Date(when.getStore() ?? start);
  const at = <T>(t: number, f: () => Promise<T>) => when.run(Math.round(t), f);
  log(`volume: generating scale ${scale} into ${dataDir}: ${JSON.stringify(p)}`);
  const data = await openData({ dataDir, documentsDir, baseUrl: 'http://127.0.0.1' }, 'server', {
    clock,
    hashing: { N: 2 ** 10 },
  });
  const { ctx } = data;
  try {
    // Documents: the two seeded ones, and copies of them owned by three more working groups.
    const seeded = ['terms-of-reference', 'workshop-process'];
    const extra = [
      ['hybrid-meetings', 'Guidelines for Hybrid Meetings', 'wg-hybrid', 'workshop-process'],
      ['outreach-policy', 'Outreach and Communication Policy', 'wg-oec', 'terms-of-reference'],
      ['mag-rules', 'Rules of Procedure of the MAG', 'mag', 'terms-of-reference'],
    ] as const;
    for (const [slug, title, group, from] of extra)
      await addDocument(ctx, CLI_ACTOR, { slug, title, group, text: await latestText(ctx, from) });
    const docs = [...seeded, ...extra.map((d) => d[0])];
    const groupOf = (slug: string) => ctx.meta.get('documents', slug)!.group;

    // People: a chair, a secretariat, members in the working groups and the stakeholder groups.
    const groups = ['mag', 'wg-hybrid', 'wg-strategy', 'wg-oec', 'wg-wsp'];
    const stakeholders = ['government', 'private-sector', 'civil-society', 'technical'];
    const sec = await addUser(ctx, CLI_ACTOR, {
      email: 'secretariat@bench.example.org',
      name: 'Sam Secretariat',
      roles: ['secretariat'],
      password: PASSWORD,
    });
    const chair = actorOf(
      await addUser(ctx, CLI_ACTOR, {
        email: 'chair@bench.example.org',
        name: 'Chair Chen',
        roles: ['member', 'chair'],
      }),
    );
    const members: Actor[] = [chair];
    await pool(
      Array.from({ length: p.users - 2 }, (_, i) => i),
      IN_FLIGHT,
      async (i) => {
        const u = await addUser(ctx, CLI_ACTOR, {
          email: `member${i + 1}@bench.example.org`,
          name: `Member ${i + 1}`,
          roles: ['member'],
          groups: [groups[i % groups.length]],
          stakeholder: stakeholders[i % stakeholders.length],
          ...(i === 0 ? { password: PASSWORD } : {}),
        });
        members[i + 1] = actorOf(u);
      },
    );
    const writers: VolumeInfo['writers'] = [];
    for (const m of members.slice(1, 9)) {
      const { token } = await createToken(ctx, CLI_ACTOR, ctx.meta.get('users', m.id)!, 'bench');
      writers.push({ email: m.email, token });
    }
    const inGroup = (g: string) => members.filter((m) => ctx.meta.get('users', m.id)!.groups.includes(g));

    let bigProposal = 0;
    let bigRound = 0;
    let published = { slug: '', n: 0 };
    let edits = 0;
    const E = p.publications;
    const proposalsE = shares(p.proposals - E, E);
    const commentsE = shares(p.comments, E);
    const roundsE = shares(p.rounds - E, E);
    const ballotsPerRound = Math.max(1, Math.round(p.ballots / p.rounds));
    const voters = (n: number) => {
      const pool0 = [...members];
      for (let i = pool0.length - 1; i > 0; i--) {
        const j = rnd.int(i + 1);
        [pool0[i], pool0[j]] = [pool0[j], pool0[i]];
      }
      return pool0.slice(0, Math.min(n, pool0.length));
    };
    /** A new proposal on `slug`: the latest text with one sentence added, shared unless a draft. */
    const propose = async (slug: string, draft: boolean) => {
      const k = ++edits;
      const text = (await latestText(ctx, slug)).replace(/\n\n/, `\n\nAmendment ${k} adds this sentence.\n\n`);
      const author = rnd.pick(inGroup(groupOf(slug)));
      const made = await createProposal(ctx, author, slug, {
        title: `Amendment ${k}: a clearer rule`,
        rationale: `${rnd.pick(SENTENCES)} ${rnd.pick(SENTENCES)}`,
        text,
      });
      return draft ? made : shareProposal(ctx, author, made.id);
    };
    const vote = async (roundId: number, openAt: number, n: number, approveAll: boolean) => {
      await pool(voters(n), IN_FLIGHT, (v, i) =>
        at(openAt + (i + 1) * 60_000, () => {
          const x = approveAll ? 0 : rnd.r();
          return castBallot(
            ctx,
            v,
            roundId,
            x < 0.7
              ? { position: 'approve' }
              : x < 0.85
                ? { position: 'object', reason: rnd.pick(SENTENCES) }
                : { position: 'abstain' },
          );
        }),
      );
    };

    for (let e = 0; e < E; e++) {
      const e0 = start + (e * span) / E;
      const w = span / E;
      // Proposals: across documents, one in ten left a draft.
      const made: number[] = [];
      await pool(
        Array.from({ length: proposalsE[e] }, (_, i) => i),
        IN_FLIGHT,
        (i) =>
          at(e0 + (0.3 * w * i) / proposalsE[e], async () => {
            const pr = await propose(docs[i % docs.length], i % 10 === 9);
            if (pr.state === 'shared') made.push(pr.id);
          }),
      );
      made.sort((a, b) => a - b);
      // Comments: 200 on the first shared proposal, the rest at random; a third anchored, a third replies.
      const targets: number[] = [];
      if (e === 0) {
        bigProposal = made[0];
        for (let i = 0; i < Math.min(200, commentsE[0]); i++) targets.push(bigProposal);
      }
      while (targets.length < commentsE[e]) targets.push(rnd.pick(made));
      const threads = new Map<number, number[]>();
      await pool(targets, IN_FLIGHT, (id, i) =>
        at(e0 + w * (0.3 + (0.35 * i) / targets.length), async () => {
          const pr = ctx.meta.get('proposals', id)!;
          const kind = rnd.int(3);
          const earlier = threads.get(id) ?? [];
          const marker = /Amendment \d+ adds this sentence\./.exec(await proposalTextOf(ctx, pr))?.[0];
          const c = await addComment(ctx, rnd.pick(members), proposalCommentable(ctx, pr), {
            body: `${rnd.pick(SENTENCES)} ${rnd.pick(SENTENCES)}\n\n${rnd.pick(SENTENCES)}`,
            anchor: kind === 0 && marker ? { quote: marker } : null,
            replyTo: kind === 1 && earlier.length ? rnd.pick(earlier) : null,
          });
          threads.set(id, [...earlier, c.id]);
        }),
      );
      // Rounds on shared proposals, each ~50 ballots (the first one exactly 50 or more), closed at their deadline.
      const subjects = made.slice(0, roundsE[e]);
      const opened: { id: number; openAt: number }[] = [];
      await pool(subjects, IN_FLIGHT, (id, i) => {
        const openAt = e0 + w * (0.65 + (0.1 * i) / subjects.length);
        return at(openAt, async () => {
          const r = await openRound(ctx, chair, {
            subject: { type: 'proposal', id },
            rule: 'majority',
            quorum: 0.2,
            closesAt: new Date(openAt + 7 * DAY).toISOString(),
          });
          opened.push({ id: r.id, openAt });
        });
      });
      opened.sort((a, b) => a.id - b.id);
      if (e === 0 && opened.length) bigRound = opened[0].id;
      for (const r of opened)
        await vote(r.id, r.openAt, r.id === bigRound ? Math.max(50, ballotsPerRound) : ballotsPerRound, false);
      await pool(opened, IN_FLIGHT, (r) => at(r.openAt + 7 * DAY + 3_600_000, () => closeRound(ctx, chair, r.id)));
      // The epoch's publication: a fresh proposal consolidated, approved in a round, published.
      const slug = docs[e % docs.length];
      const tp = e0 + w - 11 * DAY; // its last step (publishing) ten days on: every time stays in the past
      const pr = await at(tp, () => propose(slug, false));
      const c = await at(tp + DAY, () =>
        createConsolidation(ctx, chair, slug, { proposals: [pr.id], summary: `Amendment ${edits} adopted` }),
      );
      const r = await at(tp + 2 * DAY, () =>
        openRound(ctx, chair, {
          subject: { type: 'consolidation', id: c.id },
          rule: 'majority',
          quorum: 0.2,
          closesAt: new Date(tp + 9 * DAY).toISOString(),
        }),
      );
      // Enough approvals to pass: the quorum is a fifth of the electorate (600 members at scale 3
      // need 120 ballots, more than the ~50 of the other rounds).
      await vote(r.id, tp + 2 * DAY, Math.max(ballotsPerRound, Math.ceil(0.2 * members.length) + 1), true);
      await at(tp + 9 * DAY + 3_600_000, () => closeRound(ctx, chair, r.id));
      const v = await at(tp + 10 * DAY, () => publishConsolidation(ctx, chair, c.id, {}));
      published = { slug, n: v.number };
      // A live server sends its mail as it goes: every epoch but the last ends with its waiting
      // messages recorded sent (as the worker records them once a transport took them), and the
      // retention pass (the real one) makes those sent more than 30 days before compact. The last
      // epoch's mail stays waiting: the backlog part 8 drains.
      if (e < E - 1) await at(e0 + w, () => sendAllWaiting(ctx));
      await at(e0 + w, async () => {
        while ((await pruneMailBodies(ctx, DEFAULT_MAIL_RETENTION_DAYS)) > 0);
      });
      log(
        `volume: epoch ${e + 1}/${E}: ${count(ctx, 'proposals')} proposals, ${count(ctx, 'comments')} comments, ${count(ctx, 'ballots')} ballots, ${count(ctx, 'rounds')} rounds (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }
    const counts = Object.fromEntries(
      (['users', 'proposals', 'comments', 'rounds', 'ballots', 'consolidations', 'versions', 'mails'] as const).map(
        (k) => [k, count(ctx, k)],
      ),
    );
    const mailsWaiting = ctx.meta.countBy('mails', 'state', 'pending');
    const generationMs = performance.now() - t0;
    log(`volume: generated in ${(generationMs / 1000).toFixed(1)} s: ${JSON.stringify(counts)}`);
    return {
      scale,
      plan: p,
      generationMs,
      counts,
      mailsWaiting,
      bigProposal,
      bigRound,
      publishedVersion: published,
      secretariat: sec.email,
      member: members[1].email,
      writers,
    };
  } finally {
    await data.close();
  }
}

// `BENCH_SCALE=0.01 npx tsx bench/volume.ts`: generate (or find) the folder and print what it holds.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  volume(scaleOf())
    .then(({ dataDir, info, cached }) =>
      console.log(JSON.stringify({ dataDir, cached, ...info, writers: info.writers.length }, null, 1)),
    )
    .catch((e) => {
      console.error(e);
      process.exitCode = 1;
    });
}
