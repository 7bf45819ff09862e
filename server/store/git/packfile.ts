import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { createDelta, DeltaIndex } from './delta.js';

/**
 * Writing a git packfile (version 2) with deltas. isomorphic-git's `packObjects` stores every
 * object whole (zlib only): 200 versions of a 250 KB text stay ~14 MB. Here similar objects are
 * stored as OFS_DELTA entries against an object written before them, as `git repack` does, and
 * isomorphic-git's `indexPack` then reads the result back to make the `.idx` (which checks every
 * object id against its content).
 */

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';
const TYPE_CODE: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };
const OFS_DELTA = 6;

/** How many earlier objects of the same kind each object is compared with. */
export const DELTA_WINDOW = 10;
/**
 * The longest chain of deltas (a read of the object at depth d applies d deltas). Versions are
 * written newest first, so the current text is whole and older ones are deltas against newer.
 */
export const MAX_DELTA_DEPTH = 50;
/**
 * What one more step of a delta chain is worth, in bytes of delta: a base that is a step deeper
 * must give a delta this much smaller. Without it every version becomes a delta of the next
 * (chains as long as allowed, slow to read); with it chains branch. Measured on 200 versions of
 * a 250 KB text: longest chain 21 instead of 50, and a smaller pack (fewer texts stored whole).
 */
const DEPTH_COST = 3000;
/** Objects smaller than this are stored whole: a delta would save next to nothing. */
const MIN_DELTA_SIZE = 64;

/** What the packer knows of an object before writing it. */
export interface PackItem {
  oid: string;
  type: ObjectType;
  size: number;
  /** The path the object was last seen at (blobs and trees), for grouping versions of one file. */
  path?: string;
  /** Lower is newer: the order in which a walk from the newest commit first met the object. */
  recency: number;
}

/** One entry of a tree object. */
export interface TreeEntry {
  mode: string;
  name: string;
  oid: string;
}

export function parseTree(content: Uint8Array): TreeEntry[] {
  const buf = Buffer.from(content.buffer, content.byteOffset, content.length);
  const entries: TreeEntry[] = [];
  let p = 0;
  while (p < buf.length) {
    const space = buf.indexOf(0x20, p);
    const nul = buf.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > buf.length) throw new Error('unreadable tree object');
    entries.push({
      mode: buf.toString('latin1', p, space),
      name: buf.toString('utf8', space + 1, nul),
      oid: buf.toString('hex', nul + 1, nul + 21),
    });
    p = nul + 21;
  }
  return entries;
}

/** The tree and committer time of a commit, or the tagger time of a tag (0 when absent). */
export function headerOf(content: Uint8Array): { tree?: string; time: number } {
  const text = Buffer.from(content.buffer, content.byteOffset, Math.min(content.length, 4096)).toString('utf8');
  const head = text.split('\n\n', 1)[0];
  const tree = /^tree ([0-9a-f]{40})$/m.exec(head)?.[1];
  const time = /^(?:committer|tagger) .*> (\d+) [+-]\d{4}$/m.exec(head)?.[1];
  return { tree, time: time ? Number(time) : 0 };
}

/**
 * The order objects are written in: commits and tags newest first, then trees and blobs
 * grouped by path (versions of one file side by side, newest first), then the rest largest
 * first. A delta's base is always written before it, within `DELTA_WINDOW` objects.
 */
export function packOrder(items: PackItem[]): PackItem[] {
  const rank: Record<ObjectType, number> = { commit: 0, tag: 1, tree: 2, blob: 3 };
  return [...items].sort((a, b) => {
    if (a.type !== b.type) return rank[a.type] - rank[b.type];
    if (a.type === 'commit' || a.type === 'tag') return a.recency - b.recency;
    if ((a.path === undefined) !== (b.path === undefined)) return a.path === undefined ? 1 : -1;
    if (a.path !== b.path) return (a.path ?? '') < (b.path ?? '') ? -1 : 1;
    if (a.path !== undefined && a.recency !== b.recency) return a.recency - b.recency;
    return b.size - a.size || (a.oid < b.oid ? -1 : 1);
  });
}

/** The header of a pack entry: type and inflated size, 4 bits then 7 bits at a time. */
function entryHeader(type: number, size: number): Buffer {
  const bytes: number[] = [];
  let b = (type << 4) | (size & 0x0f);
  size = Math.floor(size / 16);
  while (size > 0) {
    bytes.push(b | 0x80);
    b = size & 0x7f;
    size = Math.floor(size / 128);
  }
  bytes.push(b);
  return Buffer.from(bytes);
}

/** The distance back to an OFS_DELTA's base, in git's offset encoding (big-endian base 128, each continued byte minus one). */
function ofsBytes(distance: number): Buffer {
  const bytes = [distance & 0x7f];
  distance = Math.floor(distance / 128);
  while (distance > 0) {
    distance--;
    bytes.unshift(0x80 | (distance & 0x7f));
    distance = Math.floor(distance / 128);
  }
  return Buffer.from(bytes);
}

const deflate = promisify(zlib.deflate);

interface WindowEntry {
  offset: number;
  content: Uint8Array;
  depth: number;
  index?: DeltaIndex;
}

export interface PackStats {
  /** The pack's SHA-1 (its trailer, and its name: pack-<sha>.pack). */
  sha: string;
  objects: number;
  deltas: number;
  bytes: number;
}

/**
 * Write `items` (in `packOrder`) to `file` as a pack, reading each object's content with
 * `read`. `pause` is awaited between objects (to let other work run, or to stop by throwing).
 * The file is fsynced and closed before this resolves.
 */
export async function writePack(
  file: string,
  items: PackItem[],
  read: (item: PackItem) => Promise<Uint8Array>,
  pause: () => Promise<void>,
): Promise<PackStats> {
  const handle = await fsp.open(file, 'wx', 0o600);
  const hash = createHash('sha1');
  let offset = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (!pendingBytes) return;
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    await handle.write(chunk);
  };
  const emit = async (b: Buffer, trailer = false) => {
    if (!trailer) hash.update(b);
    pending.push(b);
    pendingBytes += b.length;
    offset += b.length;
    if (pendingBytes >= 1 << 20) await flush();
  };
  let deltas = 0;
  try {
    const header = Buffer.alloc(12);
    header.write('PACK', 0, 'latin1');
    header.writeUInt32BE(2, 4);
    header.writeUInt32BE(items.length, 8);
    await emit(header);
    const window: WindowEntry[] = [];
    let windowType: ObjectType | null = null;
    for (const item of items) {
      await pause();
      const content = await read(item);
      if (content.length !== item.size) throw new Error(`object ${item.oid} changed size while packing`);
      const start = offset;
      const deltifiable = (item.type === 'blob' || item.type === 'tree') && content.length >= MIN_DELTA_SIZE;
      if (windowType !== item.type) {
        window.length = 0;
        windowType = item.type;
      }
      let best: { delta: Uint8Array; base: WindowEntry } | null = null;
      if (deltifiable) {
        // A delta must save at least half the object to be worth a chain step; each step of
        // the base's chain counts as DEPTH_COST bytes more, so that chains stay short.
        let bestCost = Math.floor(content.length / 2) - 20;
        for (let i = window.length - 1; i >= 0; i--) {
          const base = window[i];
          const limit = bestCost - base.depth * DEPTH_COST - (best ? 1 : 0);
          if (base.depth >= MAX_DELTA_DEPTH || limit <= 0) continue;
          await pause();
          base.index ??= new DeltaIndex(base.content);
          const delta = createDelta(base.index, content, limit);
          if (delta) {
            best = { delta, base };
            bestCost = delta.length + base.depth * DEPTH_COST;
          }
        }
      }
      if (best) {
        deltas++;
        await emit(entryHeader(OFS_DELTA, best.delta.length));
        await emit(ofsBytes(start - best.base.offset));
        await emit(await deflate(best.delta));
      } else {
        await emit(entryHeader(TYPE_CODE[item.type], content.length));
        await emit(await deflate(content));
      }
      if (deltifiable) {
        window.push({ offset: start, content, depth: best ? best.base.depth + 1 : 0 });
        if (window.length > DELTA_WINDOW) window.shift();
      }
    }
    const sha = hash.digest();
    await emit(sha, true);
    await flush();
    await handle.sync();
    return { sha: sha.toString('hex'), objects: items.length, deltas, bytes: offset };
  } finally {
    await handle.close();
  }
}

/** `idx` when it is a version-2 pack index long enough for the ids its fan-out counts; an error otherwise. */
export function checkIndex(idx: Buffer): Buffer {
  if (idx.length < 8 + 256 * 4 || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2)
    throw new Error('not a version 2 pack index');
  if (idx.length < 8 + 256 * 4 + idx.readUInt32BE(8 + 255 * 4) * 20) throw new Error('a pack index cut short');
  return idx;
}

/** The object ids a version-2 pack index lists. */
export function idxObjectIds(idx: Buffer): string[] {
  checkIndex(idx);
  const count = idx.readUInt32BE(8 + 255 * 4);
  const first = 8 + 256 * 4;
  const oids: string[] = [];
  for (let i = 0; i < count; i++) oids.push(idx.toString('hex', first + i * 20, first + i * 20 + 20));
  return oids;
}

const HEX_ID = /^[0-9a-f]{40}$/;

/**
 * Whether a version-2 pack index (or any of several) lists `oid` (40 hex digits): a binary
 * search among the ids that share its first byte (the fan-out table gives where they lie),
 * comparing four bytes at a time, without making a string of every id an index holds
 * (`idxObjectIds`).
 */
export function idxLists(indexes: Buffer | readonly Buffer[], oid: string): boolean {
  if (!HEX_ID.test(oid)) return false;
  const want = Buffer.from(oid, 'hex');
  const words = [0, 4, 8, 12, 16].map((k) => want.readUInt32BE(k));
  const fan = 8 + want[0] * 4;
  const first = 8 + 256 * 4;
  for (const idx of Array.isArray(indexes) ? indexes : [indexes]) {
    checkIndex(idx);
    let lo = want[0] === 0 ? 0 : idx.readUInt32BE(fan - 4);
    let hi = idx.readUInt32BE(fan);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = first + mid * 20;
      let c = 0;
      for (let k = 0; k < 5 && c === 0; k++) c = words[k] - idx.readUInt32BE(at + k * 4);
      if (c === 0) return true;
      if (c > 0) lo = mid + 1;
      else hi = mid;
    }
  }
  return false;
}
