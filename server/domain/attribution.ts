import { diffArrays } from 'diff';
import { splitTokens } from './merge.js';

/**
 * Who made each change of a consolidation (issue 15): the text against the published one,
 * every inserted and deleted word credited to the revision that made it — the merge of a
 * proposal (revisions 1…k, one per proposal, in order) or the chair's editorial revision.
 *
 * Computed, never guessed: the words of the published text are followed through each
 * revision's diff against the one before (sentences first, then words inside the changed
 * sentences). A word a revision inserts is that revision's; a published word a revision
 * deletes is deleted by it; a word inserted and later deleted again is no change at all. Last,
 * within each run of changes, a deleted word and an inserted word that are the same (a
 * sentence the chair restored) cancel out, so what is listed is exactly the difference
 * between the published text and the last revision.
 */
export type ChangeSource = { type: 'proposal'; id: number } | { type: 'editorial'; revision: number; author: number };

export interface AttributedPiece {
  op: 'equal' | 'insert' | 'delete';
  text: string;
  /** Who made an insertion or deletion (absent for equal text). */
  source?: ChangeSource;
}

export type AttributedChange = Required<Omit<AttributedPiece, 'op'>> & { op: 'insert' | 'delete' };

/** One revision: its whole text, and who made it. */
export interface AttributionStep {
  text: string;
  source: ChangeSource;
}

/** The words of a text, each with its trailing whitespace, never across a sentence token. */
export const wordsOf = (text: string): string[] => splitTokens(text).flatMap((t) => t.match(/^\s+|\S+\s*/g) ?? [t]);

type Part = { kind: 'equal' | 'removed' | 'added'; words: string[] };

/** The word diff of two texts: sentence tokens aligned first, words compared inside the changed ones. */
function wordDiff(from: string, to: string): Part[] {
  const out: Part[] = [];
  const push = (kind: Part['kind'], words: string[]) => {
    if (words.length) out.push({ kind, words });
  };
  let removed: string[] = [];
  let added: string[] = [];
  const flush = () => {
    if (removed.length || added.length) {
      const a = removed.flatMap((t) => t.match(/^\s+|\S+\s*/g) ?? [t]);
      const b = added.flatMap((t) => t.match(/^\s+|\S+\s*/g) ?? [t]);
      for (const p of diffArrays(a, b)) push(p.added ? 'added' : p.removed ? 'removed' : 'equal', p.value);
    }
    removed = [];
    added = [];
  };
  for (const p of diffArrays(splitTokens(from), splitTokens(to))) {
    if (p.removed) removed.push(...p.value);
    else if (p.added) added.push(...p.value);
    else {
      flush();
      push(
        'equal',
        p.value.flatMap((t) => t.match(/^\s+|\S+\s*/g) ?? [t]),
      );
    }
  }
  flush();
  return out;
}

/** A word followed through the revisions: who put it there (null: published), who deleted it. */
interface Item {
  text: string;
  origin: ChangeSource | null;
  deletedBy: ChangeSource | null;
}

const sameSource = (a?: ChangeSource, b?: ChangeSource) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The published text and the last revision, as one sequence of equal, inserted and deleted
 * pieces, each change with its source (consecutive pieces of one kind and source joined).
 */
export function attribute(published: string, steps: AttributionStep[]): AttributedPiece[] {
  let items: Item[] = wordsOf(published).map((text) => ({ text, origin: null, deletedBy: null }));
  let previous = published;
  for (const step of steps) {
    const next: Item[] = [];
    let k = 0;
    const skipDeleted = () => {
      while (k < items.length && items[k].deletedBy) next.push(items[k++]);
    };
    for (const part of wordDiff(previous, step.text)) {
      if (part.kind === 'added') {
        for (const text of part.words) next.push({ text, origin: step.source, deletedBy: null });
        continue;
      }
      for (let j = 0; j < part.words.length; j++) {
        skipDeleted();
        const item = items[k++];
        if (part.kind === 'equal') next.push(item);
        // A published word is deleted by this revision; a word a revision inserted simply goes.
        else if (item.origin === null) next.push({ ...item, deletedBy: step.source });
      }
    }
    skipDeleted();
    items = next;
    previous = step.text;
  }
  return piecesOf(items);
}

/** The pieces of the items: each run of changes with deleted and inserted words that are the same cancelled. */
function piecesOf(items: Item[]): AttributedPiece[] {
  const out: AttributedPiece[] = [];
  const push = (op: AttributedPiece['op'], text: string, source?: ChangeSource) => {
    const last = out[out.length - 1];
    if (last && last.op === op && sameSource(last.source, source)) last.text += text;
    else out.push(source ? { op, text, source } : { op, text });
  };
  for (let i = 0; i < items.length; ) {
    if (items[i].origin === null && !items[i].deletedBy) {
      push('equal', items[i++].text);
      continue;
    }
    const run: Item[] = [];
    for (; i < items.length && (items[i].origin !== null || items[i].deletedBy); i++) run.push(items[i]);
    const deleted = run.filter((x) => x.deletedBy);
    const inserted = run.filter((x) => !x.deletedBy);
    // The words the run deletes and inserts alike cut it into segments, each kept in text order.
    const segment = new Map<Item, number>();
    const same: string[] = [];
    let d = 0;
    let n = 0;
    for (const p of diffArrays(
      deleted.map((x) => x.text),
      inserted.map((x) => x.text),
    )) {
      for (const text of p.value) {
        if (p.removed) segment.set(deleted[d++], same.length);
        else if (p.added) segment.set(inserted[n++], same.length);
        else {
          same.push(text);
          d++;
          n++;
        }
      }
    }
    const buckets: Item[][] = same.map(() => []);
    buckets.push([]);
    for (const x of run) if (segment.has(x)) buckets[segment.get(x)!].push(x);
    buckets.forEach((bucket, s) => {
      for (const x of bucket) push(x.deletedBy ? 'delete' : 'insert', x.text, (x.deletedBy ?? x.origin)!);
      if (s < same.length) push('equal', same[s]);
    });
  }
  return out;
}

/** Only the insertions and deletions. */
export const changesOnly = (pieces: AttributedPiece[]): AttributedChange[] =>
  pieces.filter((p): p is AttributedChange => p.op !== 'equal');
