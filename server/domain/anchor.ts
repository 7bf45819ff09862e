import type { Change } from './diff.js';

/**
 * A comment's anchor is a quoted passage at an offset of one revision's text. When a later
 * revision is shown, the passage is followed through the diff between the two revisions: if
 * any change touches it, the comment is outdated (shown with its original passage), never
 * silently moved to other text.
 */
export interface AnchorAt {
  quote: string;
  offset: number;
}

/** Where the quote sits in `text` (the `occurrence`-th match, 0-based), or null. */
export function locateQuote(text: string, quote: string, occurrence = 0): number | null {
  if (!quote || !Number.isInteger(occurrence) || occurrence < 0) return null;
  let at = -1;
  for (let i = 0; i <= occurrence; i++) {
    at = text.indexOf(quote, at + 1);
    if (at < 0) return null;
  }
  return at;
}

/**
 * Map an anchored range of the old text through `changes` (old → new). Returns the new offset
 * when the passage is untouched, or null when an insert or delete falls inside it (an insert
 * exactly at either edge does not touch it).
 */
export function followAnchor(changes: Change[], anchor: AnchorAt): number | null {
  const start = anchor.offset;
  const end = anchor.offset + anchor.quote.length;
  let oldPos = 0;
  let newPos = 0;
  let mapped: number | null = null;
  for (const c of changes) {
    const len = c.text.length;
    if (c.op === 'equal') {
      if (mapped === null && start >= oldPos && start < oldPos + len) mapped = newPos + (start - oldPos);
      oldPos += len;
      newPos += len;
    } else if (c.op === 'delete') {
      if (oldPos + len > start && oldPos < end) return null;
      oldPos += len;
    } else {
      if (oldPos > start && oldPos < end) return null;
      newPos += len;
    }
    if (oldPos >= end && mapped !== null) return mapped;
  }
  return mapped;
}
