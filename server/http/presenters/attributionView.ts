import type { Actor } from '../../domain/actor.js';
import type { AttributedPiece, ChangeSource } from '../../domain/attribution.js';
import type { Ctx } from '../../services/context.js';
import type { ConsolidationAttribution } from '../../services/consolidations/attribution.js';
import { userName } from '../../services/accounts/users.js';
import { findProposal } from '../../services/proposals/access.js';

/**
 * The attribution of a consolidation (services/consolidations/attribution.ts), as the API
 * answers it and as the pages show it — the consolidation page, its "chair's edits" view, the
 * round page and the decision record all use `attributionView`. Records in, flat values out.
 */

const sameSource = (a?: ChangeSource, b?: ChangeSource) => JSON.stringify(a) === JSON.stringify(b);

/** `GET /consolidations/:id/attribution`: the changes, with the editorial author's name. */
export const attributionJson = (ctx: Ctx, a: ConsolidationAttribution) =>
  a.changes.map((c) => ({
    op: c.op,
    text: c.text,
    source:
      c.source.type === 'proposal'
        ? { type: 'proposal' as const, id: c.source.id }
        : { type: 'editorial' as const, revision: c.source.revision, author: userName(ctx, c.source.author) },
  }));

/** Who made a change, in words, with a link to the proposal when the viewer may see it. */
function sourceView(ctx: Ctx, actor: Actor | null, s: ChangeSource) {
  if (s.type === 'editorial')
    return {
      editorial: true,
      label: `The chair's edit: revision ${s.revision} by ${userName(ctx, s.author)}`,
      proposal: null,
    };
  const p = findProposal(ctx, actor, s.id);
  return {
    editorial: false,
    label: `From proposal ${s.id}`,
    proposal: { id: s.id, title: p?.title ?? null, href: p ? `/proposals/${s.id}` : null },
  };
}

/** Context around a change: at most `n` words, never across a line break. */
const CONTEXT_WORDS = 5;
const tail = (s: string) => {
  const line = s.slice(s.lastIndexOf('\n') + 1);
  const words = line.match(/\S+\s*/g) ?? [];
  return (words.length > CONTEXT_WORDS ? '…' : '') + words.slice(-CONTEXT_WORDS).join('');
};
const head = (s: string) => {
  const cut = s.indexOf('\n');
  const line = cut < 0 ? s : s.slice(0, cut);
  const words = line.match(/\s*\S+/g) ?? [];
  return words.slice(0, CONTEXT_WORDS).join('') + (words.length > CONTEXT_WORDS || cut >= 0 ? '…' : '');
};

/** A short equal stretch between two changes of one source (a few words of one line) keeps them one change. */
const joins = (p: AttributedPiece) => !p.text.includes('\n') && (p.text.match(/\S+/g) ?? []).length <= 3;

interface Hunk {
  source: ChangeSource;
  parts: { op: AttributedPiece['op']; text: string }[];
  first: number;
  last: number;
}

/** The changes in text order, each run by one source one item, with a few words of context. */
function hunksOf(pieces: AttributedPiece[]): (Hunk & { before: string; after: string })[] {
  const hunks: Hunk[] = [];
  pieces.forEach((p, i) => {
    if (p.op === 'equal') return;
    const h = hunks[hunks.length - 1];
    if (h && sameSource(h.source, p.source) && h.last === i - 1) {
      h.parts.push({ op: p.op, text: p.text });
      h.last = i;
    } else if (h && sameSource(h.source, p.source) && h.last === i - 2 && joins(pieces[i - 1])) {
      h.parts.push({ op: 'equal', text: pieces[i - 1].text }, { op: p.op, text: p.text });
      h.last = i;
    } else hunks.push({ source: p.source!, parts: [{ op: p.op, text: p.text }], first: i, last: i });
  });
  return hunks.map((h) => {
    const before = pieces[h.first - 1];
    const after = pieces[h.last + 1];
    return {
      ...h,
      before: before?.op === 'equal' ? tail(before.text) : '',
      after: after?.op === 'equal' ? head(after.text) : '',
    };
  });
}

/**
 * For the pages: every revision (who, when, its message, what it was), and each change with
 * its source; `editorialOnly` keeps the chair's edits alone.
 */
export function attributionView(
  ctx: Ctx,
  actor: Actor | null,
  a: ConsolidationAttribution,
  opts: { editorialOnly?: boolean; href?: string } = {},
) {
  const all = hunksOf(a.pieces);
  const hunks = all
    .filter((h) => !opts.editorialOnly || h.source.type === 'editorial')
    .map((h) => ({ before: h.before, parts: h.parts, after: h.after, source: sourceView(ctx, actor, h.source) }));
  return {
    revision: a.revision,
    editorialOnly: !!opts.editorialOnly,
    /** Links between all changes and the chair's edits (the consolidation page only). */
    links: opts.href
      ? { all: `${opts.href}#attribution-h`, editorial: `${opts.href}?view=editorial#attribution-h` }
      : null,
    /** As many as the editorial view lists (a reworded phrase is one item, not a deletion and an insertion). */
    editorialCount: all.filter((h) => h.source.type === 'editorial').length,
    hunks,
    revisions: a.revisions.map((r) => ({
      n: r.n,
      author: userName(ctx, r.authorId),
      at: r.at,
      message: r.message,
      source: sourceView(ctx, actor, r.source),
    })),
  };
}

export type AttributionView = ReturnType<typeof attributionView>;
