/**
 * The metadata store's pool of repeated strings (server/store/meta/stringPool.ts): sharing a
 * record's strings never changes the record, at any depth, and the pool stays within its bound
 * however many different strings pass through it. (What it saves is measured by the bench:
 * strings that are equal cannot be told apart from JavaScript.)
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { POOLED_KINDS, StringPool } from '../../server/store/meta/stringPool.js';
import { runs } from '../helpers/depth.js';

describe('store/stringPool', () => {
  const sizes = (pool: StringPool) => pool.size;

  test('a record shared through the pool equals what it was, at every depth', () => {
    const pool = new StringPool(8, 12);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        const before = structuredClone(v);
        expect(pool.share(v)).toEqual(before);
        expect(v).toEqual(before);
      }),
      runs(300),
    );
  });

  test('the pool holds at most two generations of strings, and long strings not at all', () => {
    const pool = new StringPool(100, 20);
    for (let i = 0; i < 10_000; i++) expect(pool.string(`message-${i}`)).toBe(`message-${i}`);
    expect(sizes(pool)).toBeLessThanOrEqual(200);
    const fresh = new StringPool(100, 20);
    fresh.string('x'.repeat(21));
    expect(sizes(fresh)).toBe(0);
    fresh.string('x'.repeat(20));
    expect(sizes(fresh)).toBe(1);
  });

  test('a string that keeps recurring stays in the pool while others pass through', () => {
    const pool = new StringPool(10, 50);
    const held = (s: string) => pool.holds(s);
    for (let i = 0; i < 1000; i++) {
      pool.string(`<m${i}@host>`);
      if (i % 5 === 0) pool.string('proposal.shared');
      expect(held('proposal.shared')).toBe(true);
    }
    expect(held('<m0@host>')).toBe(false);
  });

  test('short lists of strings are shared and frozen; longer lists and lists of other values are left as they are', () => {
    const pool = new StringPool(100, 50);
    const a = pool.share({ to: ['ana@example.org'], bcc: [], references: ['<p1@x>', '<c2@x>'] });
    const b = pool.share({ to: ['ana@example.org'], bcc: [], references: ['<p1@x>', '<c2@x>'] });
    expect(b.to).toBe(a.to);
    expect(b.bcc).toBe(a.bcc);
    expect(b.references).toBe(a.references);
    expect(Object.isFrozen(a.to)).toBe(true);
    // A record is never changed in place; a shared list changed so would throw, not change others.
    expect(() => (a.to as string[]).push('bo@example.org')).toThrow(TypeError);
    expect(b.to).toEqual(['ana@example.org']);
    const long = pool.share({ groups: ['a', 'b', 'c', 'd', 'e'], n: [1, 2], mixed: ['a', 1] });
    for (const list of Object.values(long)) expect(Object.isFrozen(list)).toBe(false);
    // Lists that differ only in how their strings would join are told apart.
    expect(pool.share({ l: ['a,b'] }).l).not.toBe(pool.share({ l: ['a', 'b'] }).l);
  });

  test('records of the pooled kinds go through the pool; the others are left as they are', () => {
    const pool = new StringPool();
    expect(POOLED_KINDS.has('mails')).toBe(true);
    const mail = { subject: 'Proposal 7 shared', to: ['ana@example.org'] };
    expect(pool.record('mails', mail)).toEqual({ subject: 'Proposal 7 shared', to: ['ana@example.org'] });
    expect(pool.holds('Proposal 7 shared')).toBe(true);
    expect(Object.isFrozen(mail.to)).toBe(true);
    const proposal = { title: 'Amendment 7', authors: ['bo@example.org'] };
    expect(pool.record('proposals', proposal)).toBe(proposal);
    expect(pool.holds('Amendment 7')).toBe(false);
    expect(Object.isFrozen(proposal.authors)).toBe(false);
  });
});
