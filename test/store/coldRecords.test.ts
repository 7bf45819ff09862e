/**
 * Cold records (server/store/meta/coldRecords.ts, issue 18): a message sent and compacted leaves
 * memory and the snapshot for an append-only file on disk, and is still found by id, by `all`,
 * by the thread index and after every kind of reopen. The files are derived state: cut back to
 * the snapshot's mark at start (the journal's tail writes the rest again), refused when shorter
 * than the mark, filled once from a store that had none, and a full disk while writing them
 * loses nothing. The model-based test of every index query is metaIndex.property.test.ts; kill -9
 * is crash.system.test.ts.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { MetaStore, type Change } from '../../server/store/meta/metaStore.js';
import { SnapshotFile } from '../../server/store/meta/snapshotFile.js';
import { ColdRecords } from '../../server/store/meta/coldRecords.js';
import { CHANGES_LOGGED } from '../../server/store/meta/secondaryIndexes.js';
import { recipientKey, subjectKey } from '../../server/store/meta/indexes.js';
import type { BallotRecord, CommentRecord, MailRecord } from '../../server/store/meta/schema.js';
import { mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs.js';
import { tmp } from './gitHelpers.js';

const unavailable = await tmpfsUnavailable();

describe('store/coldRecords', () => {
  let dir: string;
  const opened: MetaStore[] = [];
  beforeEach(async () => {
    dir = await tmp('ratify-cold-');
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close().catch(() => {})));
    await fsp.rm(dir, { recursive: true, force: true });
  });

  async function open(
    at = dir,
    opts: { log?: (m: string, e?: unknown) => void; coldImageMinRows?: number } = {},
  ): Promise<MetaStore> {
    const s = await MetaStore.open(at, { log: () => {}, ...opts });
    opened.push(s);
    return s;
  }

  const THREAD = '<proposal-1@ratify.test>';
  /** Message `id` to `to`, sent; compact (cold) unless `whole`. */
  const mail = (id: number, to = `u${id % 3}@example.org`, whole = false): MailRecord => ({
    id,
    messageId: `<m${id}.x@ratify.test>`,
    key: `<m${id}@ratify.test>`,
    thread: THREAD,
    event: 'comment.added',
    to: [to],
    subject: `Message ${id}`,
    references: [],
    state: 'sent',
    attempts: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    sentAt: '2026-01-01T00:00:01.000Z',
    ...(whole ? { text: 'Body', html: '<p>Body</p>' } : { bodyDroppedAt: '2026-02-01T00:00:00.000Z' }),
  });
  /** Comment `id` on proposal `on`, with `extra` fields (a reply by mail gives `viaMail`). */
  const comment = (id: number, on: number, extra: Partial<CommentRecord> = {}): CommentRecord => ({
    id,
    subject: { type: 'proposal', id: on },
    authorId: 1 + (id % 3),
    body: `Comment ${id} on proposal ${on}`,
    anchor: null,
    replyTo: null,
    resolved: false,
    resolvedBy: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  });
  const putComments = (...comments: CommentRecord[]): Change => ({
    actor: null,
    at: new Date('2026-02-01T00:00:00Z'),
    events: [],
    puts: { comments: Object.fromEntries(comments.map((c) => [c.id, c])) },
  });
  const put = (...mails: MailRecord[]): Change => ({
    actor: null,
    at: new Date('2026-02-01T00:00:00Z'),
    events: [],
    puts: { mails: Object.fromEntries(mails.map((m) => [m.id, m])) },
  });
  /** Ballot `id` in round `round`, by voter `voter`. */
  const ballot = (id: number, round: number, voter = 10 + id): BallotRecord => ({
    id,
    round,
    voterId: voter,
    position: 'approve',
    reason: '',
    castAt: '2026-01-01T00:00:00.000Z',
    recordedBy: null,
  });
  const putBallots = (...ballots: BallotRecord[]): Change => ({
    actor: null,
    at: new Date('2026-02-01T00:00:00Z'),
    events: [],
    puts: { ballots: Object.fromEntries(ballots.map((b) => [b.id, b])) },
  });
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const snapshotText = () => fsp.readFile(path.join(dir, 'snapshot.json'), 'utf8');
  const coldFile = (name: string) => path.join(dir, 'cold', name);
  const idsOf = (ms: readonly ({ id: number } | undefined)[]) => ms.map((m) => m?.id);

  describe('cold records', () => {
    test('a compacted message leaves memory and the snapshot, and is found by id, by all and by the thread index', async () => {
      const s = await open();
      await s.write(put(...range(1, 30).map((id) => mail(id))));
      await s.write(put(mail(31, 'u1@example.org', true)));
      await s.snapshot();
      const text = await snapshotText();
      // The snapshot holds the whole message only; its first line notes the cold files' lengths.
      expect(text).not.toContain('"Message 1"');
      expect(text).toContain('"Message 31"');
      expect(JSON.parse(text.split('\n')[0]).cold.mails.rows).toBe(30);
      expect((await fsp.readFile(coldFile('mails.jsonl'), 'utf8')).split('\n')).toHaveLength(31);
      const check = (store: MetaStore) => {
        expect(store.get('mails', 7)).toEqual(mail(7));
        expect(store.get('mails', '7')).toEqual(mail(7));
        expect(store.get('mails', 99)).toBeUndefined();
        expect(store.count('mails')).toBe(31);
        expect(idsOf(store.all('mails'))).toEqual(range(1, 31));
        // The thread index lists cold messages; the others leave them out.
        const u1 = recipientKey('u1@example.org', THREAD);
        expect(idsOf(store.by('mails', 'thread', u1))).toEqual([...range(1, 30).filter((i) => i % 3 === 1), 31]);
        expect(idsOf(store.newest('mails', 'thread', u1, 2))).toEqual([31, 28]);
        expect(idsOf(store.by('mails', 'state', 'sent'))).toEqual([31]);
        expect(idsOf(store.newestCold('mails', 3))).toEqual([30, 29, 28]);
        // New ids come after the cold ones.
        expect(store.nextId('mails')).toBe(32);
      };
      check(s);
      await s.close();
      check(await open());
    });

    test('after a snapshot the cold tables are kept as images, which the next start reads instead of the tables', async () => {
      const s = await open(dir, { coldImageMinRows: 0 });
      await s.write(put(...range(1, 30).map((id) => mail(id))));
      await s.write(putComments(comment(1, 1), comment(2, 1)));
      expect(s.coldOpened()).toMatchObject({ mails: { from: 'none' }, comments: { from: 'none' } });
      await s.snapshot();
      await s.coldImagesWritten();
      await s.close();
      expect((await fsp.readdir(path.join(dir, 'cold'))).filter((f) => f.endsWith('.image')).sort()).toEqual([
        'comments.image',
        'mails.image',
      ]);
      const again = await open(dir, { coldImageMinRows: 0 });
      expect(again.coldOpened()).toMatchObject({
        mails: { from: 'image' },
        comments: { from: 'image' },
        ballots: { from: 'none' },
      });
      expect(idsOf(again.by('mails', 'thread', recipientKey('u2@example.org', THREAD)))).toEqual(
        range(1, 30).filter((i) => i % 3 === 2),
      );
      expect(again.get('comments', 2)).toEqual(comment(2, 1));
      // Below the size where an image pays (20,000 rows by default), the tables are read.
      await again.close();
      const plain = await open();
      expect(plain.coldOpened()).toMatchObject({
        mails: { from: 'table' },
        comments: { from: 'table' },
        ballots: { from: 'none' },
      });
    });

    test('a message put again whole leaves the cold file; deleted, it is gone after every reopen', async () => {
      const s = await open();
      await s.write(put(mail(1), mail(2), mail(3)));
      await s.snapshot();
      await s.write(put(mail(1, 'u9@example.org', true)));
      await s.write({ actor: null, at: new Date(), events: [], dels: { mails: ['2'] } });
      const check = (store: MetaStore) => {
        expect(store.get('mails', 1)).toEqual(mail(1, 'u9@example.org', true));
        expect(store.get('mails', 2)).toBeUndefined();
        expect(idsOf(store.all('mails'))).toEqual([1, 3]);
        expect(idsOf(store.by('mails', 'thread', recipientKey('u1@example.org', THREAD)))).toEqual([]);
        expect(idsOf(store.by('mails', 'thread', recipientKey('u9@example.org', THREAD)))).toEqual([1]);
        expect(idsOf(store.newestCold('mails', 5))).toEqual([3]);
      };
      check(s);
      await s.close();
      check(await open());
      const reopened = opened.pop()!;
      await reopened.snapshot();
      await reopened.close();
      check(await open());
    });

    test('cold files longer than the snapshot says (a crash after their write) are cut back, and the journal writes them again', async () => {
      const s = await open();
      await s.write(put(mail(1), mail(2)));
      await s.snapshot();
      await s.write(put(mail(3)));
      await s.close();
      // A torn line past the mark, as a crash mid-write leaves.
      await fsp.appendFile(coldFile('mails.jsonl'), '{"id":4,"subj');
      await fsp.appendFile(coldFile('mails.rows'), Buffer.alloc(17, 7));
      const again = await open();
      expect(idsOf(again.all('mails'))).toEqual([1, 2, 3]);
      expect(again.get('mails', 3)).toEqual(mail(3));
      await again.close();
      // Cut at the snapshot's mark, then message 3 written again by the replay: nothing of the torn line.
      const lines = (await fsp.readFile(coldFile('mails.jsonl'), 'utf8')).split('\n');
      expect(lines.filter(Boolean).map((l) => JSON.parse(l).id)).toEqual([1, 2, 3]);
      expect((await fsp.stat(coldFile('mails.rows'))).size).toBe(3 * 5 * 8);
    });

    test('a cold file shorter than the snapshot says is refused at open (cold_damaged), not read as less', async () => {
      const s = await open();
      await s.write(put(mail(1), mail(2)));
      await s.snapshot();
      await s.close();
      const size = (await fsp.stat(coldFile('mails.jsonl'))).size;
      await fsp.truncate(coldFile('mails.jsonl'), size - 5);
      await expect(MetaStore.open(dir, { log: () => {} })).rejects.toMatchObject({ code: 'cold_damaged' });
    });

    test('a table written with another row width (other cold indexes) is refused, not read as garbage', async () => {
      const s = await open();
      await s.write(put(mail(1)));
      await s.snapshot();
      await s.close();
      const text = await snapshotText();
      await fsp.writeFile(path.join(dir, 'snapshot.json'), text.replace(/"rowWidth":\d+/, '"rowWidth":4'));
      await expect(MetaStore.open(dir, { log: () => {} })).rejects.toMatchObject({ code: 'cold_damaged' });
    });

    test('a store from before cold records moves its compacted messages at the first start, then snapshots without them', async () => {
      // A snapshot as the previous version wrote it: every message in it, no cold files.
      const old = [mail(1), mail(2), mail(3, 'u0@example.org', true)];
      await new SnapshotFile(path.join(dir, 'snapshot.json'), path.join(dir, 'tmp')).write(
        0,
        old.map((m) => ['mails', String(m.id), m] as const),
      );
      const s = await open();
      expect(idsOf(s.all('mails'))).toEqual([1, 2, 3]);
      expect(idsOf(s.by('mails', 'state', 'sent'))).toEqual([3]);
      expect(idsOf(s.by('mails', 'thread', recipientKey('u1@example.org', THREAD)))).toEqual([1]);
      // The next write takes the snapshot that was due.
      await s.write(put(mail(4)));
      await s.close();
      const text = await snapshotText();
      expect(JSON.parse(text.split('\n')[0]).cold.mails.rows).toBe(3);
      expect(text).not.toContain('"Message 1"');
      const again = await open();
      expect(idsOf(again.all('mails'))).toEqual([1, 2, 3, 4]);
      expect(again.get('mails', 2)).toEqual(mail(2));
    });
  });

  describe('a cold table read at open', () => {
    test('read a slice at a time: 123,375 rows, ids put twice and removed across slices, keys of the last row', async () => {
      const files = path.join(dir, 'cold');
      const first = await ColdRecords.open<{ n: number }>(files, 'things', null, [' ', undefined], () => {});
      const N = 100_000;
      // Every id once; then every 7th again with other keys, every 11th removed (23,375 more rows).
      for (let id = 1; id <= N; id++) first.put(id, { n: id }, [`a${id % 5} t${id % 3}`, `k${id % 4}`]);
      for (let id = 7; id <= N; id += 7) first.put(id, { n: -id }, [`a9 t9`, undefined]);
      for (let id = 11; id <= N; id += 11) first.remove(id);
      const mark = first.markNow();
      expect(mark.rows).toBe(N + Math.floor(N / 7) + Math.floor(N / 11));
      await first.flushedTo(mark);
      await first.close();
      const cold = await ColdRecords.open<{ n: number }>(files, 'things', mark, [' ', undefined], () => {});
      try {
        const alive = (id: number) => id % 11 !== 0;
        const again = (id: number) => id % 7 === 0;
        expect(cold.count).toBe(Array.from({ length: N }, (_, i) => i + 1).filter(alive).length);
        for (const id of [1, 7, 11, 65_536, 65_537, 77, 99_995, 100_000])
          expect(cold.read(id)).toEqual(alive(id) ? { n: again(id) ? -id : id } : undefined);
        const [split, whole] = cold.takeKeyTables();
        const want = (test: (id: number) => boolean) =>
          Array.from({ length: N }, (_, i) => i + 1).filter((id) => alive(id) && test(id));
        expect([...split.ids('a2 t1')]).toEqual(want((id) => !again(id) && id % 5 === 2 && id % 3 === 1));
        expect([...split.ids('a9 t9')]).toEqual(want(again));
        expect([...whole.ids('k3')]).toEqual(want((id) => !again(id) && id % 4 === 3));
        expect(split.size).toBe(cold.count);
        expect(whole.size).toBe(want((id) => !again(id)).length);
      } finally {
        await cold.close();
      }
    });
  });

  describe('where a cold line is', () => {
    test('a line past 4 GiB and a line over 64 KB are read back (their page holds wider numbers), before and after a reopen, from the table and from its image', async () => {
      const files = path.join(dir, 'cold');
      await fsp.mkdir(files, { recursive: true });
      // A records file already 5 GiB long, without taking the space (a sparse file).
      const far = 5 * 1024 ** 3;
      await fsp.writeFile(path.join(files, 'things.jsonl'), '');
      await fsp.truncate(path.join(files, 'things.jsonl'), far);
      for (const part of ['rows', 'keys']) await fsp.writeFile(path.join(files, `things.${part}`), '');
      const start = { bytes: far, rows: 0, keyBytes: 0, rowWidth: 3 };
      const first = await ColdRecords.open<{ n: number; text?: string }>(files, 'things', start, [], () => {}, {
        tmpDir: path.join(dir, 'tmp'),
        minRows: 0,
      });
      const big = { n: 2, text: 'x'.repeat(70_000) };
      // Ids 1-3 share a page; id 5,000 is on the next, whose numbers all fit.
      first.put(1, { n: 1 }, []);
      first.put(2, big, []);
      first.put(3, { n: 3 }, []);
      first.put(5000, { n: 5000 }, []);
      const mark = first.markNow();
      await first.flushedTo(mark);
      const check = (cold: ColdRecords<{ n: number; text?: string }>) => {
        expect(cold.read(1)).toEqual({ n: 1 });
        expect(cold.read(2)).toEqual(big);
        expect(cold.read(3)).toEqual({ n: 3 });
        expect(cold.read(5000)).toEqual({ n: 5000 });
        expect([...cold.ids()]).toEqual([1, 2, 3, 5000]);
      };
      check(first);
      // An image of that state too (kept with its wide page), read back at the next open.
      const image = { tmpDir: path.join(dir, 'tmp'), minRows: 0 };
      first.keepImage(mark);
      await first.imagesWritten();
      await first.close();
      const again = await ColdRecords.open<{ n: number; text?: string }>(files, 'things', mark, [], () => {});
      try {
        check(again);
        expect(again.opened.from).toBe('table');
      } finally {
        await again.close();
      }
      const fromImage = await ColdRecords.open<{ n: number; text?: string }>(
        files,
        'things',
        mark,
        [],
        () => {},
        image,
      );
      try {
        expect(fromImage.opened.from).toBe('image');
        check(fromImage);
      } finally {
        await fromImage.close();
      }
    });
  });

  describe('cold comments', () => {
    const on = (p: number) => subjectKey({ type: 'proposal', id: p });

    test('every comment is cold: out of memory and the snapshot, found by id, by subject and by the Message-ID it came with', async () => {
      const s = await open();
      await s.write(putComments(...range(1, 20).map((id) => comment(id, 1 + (id % 2)))));
      await s.write(putComments(comment(21, 1, { viaMail: '<reply-21@mail.test>', replyTo: 3 })));
      const check = (store: MetaStore) => {
        expect(store.get('comments', 21)).toEqual(comment(21, 1, { viaMail: '<reply-21@mail.test>', replyTo: 3 }));
        expect(idsOf(store.by('comments', 'subject', on(2)))).toEqual(range(1, 20).filter((i) => i % 2 === 1));
        expect(idsOf(store.by('comments', 'subject', on(1)))).toEqual([...range(1, 20).filter((i) => i % 2 === 0), 21]);
        expect(store.countBy('comments', 'subject', on(1))).toBe(11);
        expect(idsOf(store.by('comments', 'viaMail', '<reply-21@mail.test>'))).toEqual([21]);
        expect(store.nextId('comments')).toBe(22);
      };
      check(s);
      await s.snapshot();
      const text = await snapshotText();
      expect(text).not.toContain('Comment 1 on');
      expect(JSON.parse(text.split('\n')[0]).cold.comments.rows).toBe(21);
      await s.close();
      check(await open());
    });

    test('records read to make a derived value or by a scan are not kept parsed; one read by id is', async () => {
      const s = await open();
      await s.write(putComments(...range(1, 20).map((id) => comment(id, 1 + (id % 2)))));
      await s.snapshot();
      await s.close();
      const again = await open();
      const kept = () =>
        (again as unknown as { cold: Map<string, { file: ColdRecords }> }).cold.get('comments')!.file.keptCount;
      expect(again.derived('comments', 'subject', on(1), 'count', (rs) => rs.length)).toBe(10);
      expect(again.all('comments')).toHaveLength(20);
      expect(again.newestCold('comments', 5)).toHaveLength(5);
      expect(kept()).toBe(0);
      expect(again.get('comments', 4)?.id).toBe(4);
      expect(idsOf(again.by('comments', 'subject', on(2)))).toHaveLength(10);
      expect(kept()).toBe(11);
    });

    test('the subject index tells which keys changed since a mark, and null once it cannot tell', async () => {
      const s = await open();
      await s.write(putComments(comment(1, 1), comment(2, 2)));
      const mark = s.changeMark('comments', 'subject');
      expect(s.changedKeys('comments', 'subject', mark)).toEqual(new Set());
      await s.write(putComments(comment(3, 2)));
      await s.write(putComments(comment(1, 1, { resolved: true, resolvedBy: 2 })));
      // A comment moved to another subject changes both.
      await s.write(putComments(comment(2, 5)));
      expect(s.changedKeys('comments', 'subject', mark)).toEqual(new Set([on(2), on(1), on(5)]));
      const later = s.changeMark('comments', 'subject');
      expect(s.changedKeys('comments', 'subject', later)).toEqual(new Set());
      // More changes than the log holds: every key is to be read again.
      await s.write(putComments(...range(10, 10 + CHANGES_LOGGED).map((id) => comment(id, id))));
      expect(s.changedKeys('comments', 'subject', later)).toBeNull();
      // A mark of another store's indexes (or of indexes built again at a reopen) tells nothing.
      await s.close();
      const again = await open();
      expect(again.changedKeys('comments', 'subject', mark)).toBeNull();
      expect(again.changedKeys('comments', 'subject', again.changeMark('comments', 'subject'))).toEqual(new Set());
    });

    test('a comment resolved is written again at the end of its cold file; the last line of an id is its record', async () => {
      const s = await open();
      await s.write(putComments(comment(1, 1), comment(2, 1), comment(3, 2)));
      await s.snapshot();
      await s.write(putComments(comment(2, 1, { resolved: true, resolvedBy: 9 })));
      // Moved to another proposal (no service does; the index must follow it all the same).
      await s.write(putComments(comment(3, 1)));
      const check = (store: MetaStore) => {
        expect(store.get('comments', 2)).toEqual(comment(2, 1, { resolved: true, resolvedBy: 9 }));
        expect(idsOf(store.by('comments', 'subject', on(1)))).toEqual([1, 2, 3]);
        expect(store.by('comments', 'subject', on(2))).toEqual([]);
      };
      check(s);
      await s.close();
      // Reopened from the snapshot before the changes (the journal's tail puts them again), then from one after.
      const again = await open();
      check(again);
      await again.snapshot();
      await again.close();
      check(await open());
    });

    test('a store whose snapshot knows cold messages but not cold comments moves its comments at the first start', async () => {
      // As the previous version wrote it: compact messages cold, every comment in the snapshot.
      const s = await open();
      await s.write(put(mail(1), mail(2)));
      await s.snapshot();
      await s.close();
      const lines = (await snapshotText()).split('\n').filter(Boolean);
      const head = JSON.parse(lines[0]) as { format: number; seq: number; cold: Record<string, unknown> };
      expect(Object.keys(head.cold)).toContain('comments');
      delete head.cold.comments;
      const comments = range(1, 5).map((id) => comment(id, 1));
      await fsp.writeFile(
        path.join(dir, 'snapshot.json'),
        [JSON.stringify(head), ...lines.slice(1), ...comments.map((c) => JSON.stringify(['comments', String(c.id), c]))]
          .map((l) => `${l}\n`)
          .join(''),
      );
      await fsp.rm(path.join(dir, 'cold', 'comments.jsonl'), { force: true });
      const moved = await open();
      expect(idsOf(moved.by('comments', 'subject', on(1)))).toEqual(range(1, 5));
      expect(idsOf(moved.all('mails'))).toEqual([1, 2]);
      // The next write takes the snapshot that was due: without the comments, its head notes their file.
      await moved.write(putComments(comment(6, 1)));
      await moved.close();
      const text = await snapshotText();
      expect(JSON.parse(text.split('\n')[0]).cold.comments.rows).toBe(6);
      expect(text).not.toContain('Comment 1 on');
      const again = await open();
      expect(idsOf(again.by('comments', 'subject', on(1)))).toEqual(range(1, 6));
      expect(again.get('comments', 3)).toEqual(comment(3, 1));
    });
  });

  describe('cold ballots', () => {
    test('every ballot is cold: out of the snapshot, found by round (in the order cast) and by id, across restarts', async () => {
      const s = await open();
      await s.write(putBallots(...range(1, 40).map((id) => ballot(id, 1 + (id % 4)))));
      await s.write(putBallots(ballot(41, 2, 12)));
      await s.snapshot();
      const text = await snapshotText();
      expect(text).not.toContain('["ballots"');
      expect(JSON.parse(text.split('\n')[0]).cold.ballots.rows).toBe(41);
      const round2 = [...range(1, 40).filter((id) => id % 4 === 1), 41];
      const check = (store: MetaStore) => {
        expect(idsOf(store.by('ballots', 'round', '2'))).toEqual(round2);
        expect(store.by('ballots', 'round', '9')).toEqual([]);
        expect(store.get('ballots', 41)).toEqual(ballot(41, 2, 12));
        expect(store.count('ballots')).toBe(41);
      };
      check(s);
      await s.close();
      // From the table, then (after a snapshot) from the image.
      check(await open(dir, { coldImageMinRows: 0 }));
      const reopened = opened.pop()!;
      await reopened.snapshot();
      await reopened.close();
      const again = await open(dir, { coldImageMinRows: 0 });
      check(again);
      await again.write(putBallots(ballot(42, 2)));
      expect(idsOf(again.by('ballots', 'round', '2'))).toEqual([...round2, 42]);
    });

    test('a store whose snapshot holds its ballots (before they were cold) moves them at the first start', async () => {
      const s = await open();
      await s.write(put(mail(1)));
      await s.snapshot();
      await s.close();
      const lines = (await snapshotText()).split('\n').filter(Boolean);
      const head = JSON.parse(lines[0]) as { cold: Record<string, unknown> };
      delete head.cold.ballots;
      const ballots = range(1, 6).map((id) => ballot(id, id % 2));
      await fsp.writeFile(
        path.join(dir, 'snapshot.json'),
        [JSON.stringify(head), ...lines.slice(1), ...ballots.map((b) => JSON.stringify(['ballots', String(b.id), b]))]
          .map((l) => `${l}\n`)
          .join(''),
      );
      await fsp.rm(coldFile('ballots.jsonl'), { force: true });
      const moved = await open();
      expect(idsOf(moved.by('ballots', 'round', '1'))).toEqual([1, 3, 5]);
      await moved.write(putBallots(ballot(7, 1)));
      await moved.close();
      const text = await snapshotText();
      expect(JSON.parse(text.split('\n')[0]).cold.ballots.rows).toBe(7);
      expect(text).not.toContain('["ballots"');
      expect(idsOf((await open()).by('ballots', 'round', '1'))).toEqual([1, 3, 5, 7]);
    });
  });

  const onTmpfs = unavailable ? describe.skip : describe;

  onTmpfs(`cold records on a full disk${unavailable ? ` — skipped: ${unavailable}` : ''}`, () => {
    let mnt = '';
    let release = async () => {};
    beforeEach(async () => {
      ({ dir: mnt, release } = await mountTmpfs(2 * 1024 * 1024, 'ratify-cold-full-'));
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close().catch(() => {})));
      await release();
    });

    test('a cold line the disk refuses is served from memory, the snapshot waits, and it is written once space is back', async () => {
      const data = path.join(mnt, 'meta');
      const logged: string[] = [];
      const s = await open(data, { log: (m) => logged.push(m) });
      await s.write(put(mail(1)));
      // The change is durable (journal); its cold line is written in the background, next.
      // Fill the disk before that happens.
      const filler = path.join(mnt, 'filler');
      const fd = fs.openSync(filler, 'w');
      try {
        const block = Buffer.alloc(64 * 1024, 1);
        for (;;) fs.writeSync(fd, block);
      } catch {
        // full
      } finally {
        fs.closeSync(fd);
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(logged.some((m) => /cold/.test(m))).toBe(true);
      expect(s.get('mails', 1)).toEqual(mail(1));
      await expect(s.snapshot()).rejects.toBeDefined();
      await fsp.rm(filler);
      // Retried a second later, and then the snapshot can be placed.
      await new Promise((r) => setTimeout(r, 1200));
      await s.snapshot();
      await s.close();
      const again = await open(data);
      expect(again.get('mails', 1)).toEqual(mail(1));
      expect(
        JSON.parse((await fsp.readFile(path.join(data, 'snapshot.json'), 'utf8')).split('\n')[0]).cold.mails.rows,
      ).toBe(1);
    });
  });
});
