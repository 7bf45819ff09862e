/**
 * Git's binary delta format (the body of an OFS_DELTA pack entry): the size of the base and of
 * the result as little-endian base-128 numbers, then instructions — copy `size` bytes from
 * `offset` in the base (`0x80 | which offset and size bytes follow`), or insert the next 1–127
 * bytes as they are. isomorphic-git and stock git both read it.
 *
 * The search is the classic one (as in git's diff-delta.c): the base is cut into 16-byte
 * blocks, indexed by a hash; a rolling hash of every 16-byte window of the target finds the
 * blocks it shares with the base, each match is extended both ways and becomes one copy.
 */

const BLOCK = 16;
/** The rolling hash's multiplier (the 32-bit FNV prime); `POW` is its power BLOCK - 1, to drop the byte leaving the window. */
const MUL = 0x01000193;
const POW = (() => {
  let p = 1;
  for (let i = 0; i < BLOCK - 1; i++) p = Math.imul(p, MUL);
  return p;
})();
/** At most this many base blocks with the same hash are tried (repeated text makes long chains). */
const MAX_CHAIN = 16;
/** A copy instruction names at most 0xffffff bytes. */
const MAX_COPY = 0xffffff;
const MAX_INSERT = 127;

function hashAt(buf: Uint8Array, at: number): number {
  let h = 0;
  for (let i = 0; i < BLOCK; i++) h = (Math.imul(h, MUL) + buf[at + i]) | 0;
  return h;
}

/** The blocks of a base, by hash: build once, use for every target compared with this base. */
export class DeltaIndex {
  readonly mask: number;
  readonly head: Int32Array;
  readonly next: Int32Array;

  constructor(readonly base: Uint8Array) {
    const blocks = Math.floor(base.length / BLOCK);
    let size = 1024;
    while (size < blocks * 2) size *= 2;
    this.mask = size - 1;
    this.head = new Int32Array(size).fill(-1);
    this.next = new Int32Array(Math.max(blocks, 1)).fill(-1);
    // From the last block to the first: a chain starts with the earliest block, as text usually moves forward.
    for (let b = blocks - 1; b >= 0; b--) {
      const slot = hashAt(base, b * BLOCK) & this.mask;
      this.next[b] = this.head[slot];
      this.head[slot] = b;
    }
  }
}

/** A growable byte buffer that gives up past `limit` bytes. */
class Out {
  buf: Uint8Array;
  length = 0;
  constructor(
    initial: number,
    readonly limit: number,
  ) {
    this.buf = new Uint8Array(Math.max(64, Math.min(initial, limit + 16)));
  }
  ensure(n: number): boolean {
    if (this.length + n > this.limit) return false;
    if (this.length + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
    }
    return true;
  }
  byte(b: number) {
    this.buf[this.length++] = b;
  }
}

function writeSize(out: Out, n: number): boolean {
  if (!out.ensure(10)) return false;
  while (n >= 0x80) {
    out.byte((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.byte(n);
  return true;
}

function writeInsert(out: Out, target: Uint8Array, from: number, to: number): boolean {
  while (from < to) {
    const n = Math.min(MAX_INSERT, to - from);
    if (!out.ensure(n + 1)) return false;
    out.byte(n);
    out.buf.set(target.subarray(from, from + n), out.length);
    out.length += n;
    from += n;
  }
  return true;
}

function writeCopy(out: Out, offset: number, size: number): boolean {
  while (size > 0) {
    const n = Math.min(MAX_COPY, size);
    if (!out.ensure(8)) return false;
    const at = out.length++;
    let op = 0x80;
    for (let i = 0; i < 4; i++) {
      const b = Math.floor(offset / 2 ** (8 * i)) & 0xff;
      if (b) {
        op |= 1 << i;
        out.byte(b);
      }
    }
    for (let i = 0; i < 3; i++) {
      const b = (n >>> (8 * i)) & 0xff;
      if (b) {
        op |= 0x10 << i;
        out.byte(b);
      }
    }
    out.buf[at] = op;
    offset += n;
    size -= n;
  }
  return true;
}

/**
 * The delta that turns `index.base` into `target`, or null when it would be longer than
 * `maxSize` bytes (then the target is better stored whole).
 */
export function createDelta(index: DeltaIndex, target: Uint8Array, maxSize: number): Uint8Array | null {
  const base = index.base;
  const out = new Out(Math.min(maxSize, 4096), maxSize);
  if (!writeSize(out, base.length) || !writeSize(out, target.length)) return null;
  const end = target.length;
  let literal = 0; // first target byte not yet written
  let i = 0;
  let h = end >= BLOCK ? hashAt(target, 0) : 0;
  while (i + BLOCK <= end) {
    let bestLen = 0;
    let bestAt = 0;
    let steps = 0;
    for (let b = index.head[h & index.mask]; b >= 0 && steps < MAX_CHAIN; b = index.next[b], steps++) {
      const at = b * BLOCK;
      let len = 0;
      const max = Math.min(base.length - at, end - i);
      while (len < max && base[at + len] === target[i + len]) len++;
      if (len >= BLOCK && len > bestLen) {
        bestLen = len;
        bestAt = at;
        if (len === end - i) break;
      }
    }
    if (bestLen) {
      // Grow the match backwards over bytes still waiting to be inserted.
      let start = i;
      while (start > literal && bestAt > 0 && base[bestAt - 1] === target[start - 1]) {
        start--;
        bestAt--;
        bestLen++;
      }
      if (!writeInsert(out, target, literal, start) || !writeCopy(out, bestAt, bestLen)) return null;
      i = start + bestLen;
      literal = i;
      if (i + BLOCK <= end) h = hashAt(target, i);
      continue;
    }
    // The bytes waiting to be inserted will cost at least their own length.
    if (out.length + (i - literal) > maxSize) return null;
    if (i + BLOCK < end) h = (Math.imul(h - Math.imul(target[i], POW), MUL) + target[i + BLOCK]) | 0;
    i++;
  }
  if (!writeInsert(out, target, literal, end)) return null;
  return out.buf.subarray(0, out.length);
}

/** Rebuild the target from a base and a delta (what a reader does; used to check a delta before it is written). */
export function applyDelta(base: Uint8Array, delta: Uint8Array): Uint8Array {
  let p = 0;
  const size = () => {
    let n = 0;
    let shift = 1;
    for (;;) {
      const b = delta[p++];
      n += (b & 0x7f) * shift;
      shift *= 128;
      if (!(b & 0x80)) return n;
    }
  };
  if (size() !== base.length) throw new Error('delta: the base has another size');
  const result = new Uint8Array(size());
  let o = 0;
  while (p < delta.length) {
    const op = delta[p++];
    if (op & 0x80) {
      let offset = 0;
      let n = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) offset += delta[p++] * 2 ** (8 * i);
      for (let i = 0; i < 3; i++) if (op & (0x10 << i)) n |= delta[p++] << (8 * i);
      if (n === 0) n = 0x10000;
      if (offset + n > base.length || o + n > result.length) throw new Error('delta: copy out of range');
      result.set(base.subarray(offset, offset + n), o);
      o += n;
    } else if (op) {
      if (o + op > result.length || p + op > delta.length) throw new Error('delta: insert out of range');
      result.set(delta.subarray(p, p + op), o);
      o += op;
      p += op;
    } else throw new Error('delta: reserved instruction 0');
  }
  if (o !== result.length) throw new Error('delta: the result has another size');
  return result;
}
