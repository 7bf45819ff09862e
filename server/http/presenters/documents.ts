import { SYSTEM_EMAIL, type Ctx } from '../../services/context.js';
import { paragraphOrigins } from '../../services/provenance.js';
import { roundOfVersion } from '../../services/rounds/decision.js';
import type { DocumentRecord, RoundRecord, VersionRecord } from '../../store/meta/schema.js';

/** Flat API shapes of the published side (API.md). */
export const versionRef = (v: VersionRecord) => ({ number: v.number, commit: v.commit, publishedAt: v.publishedAt });

export const documentSummary = (doc: DocumentRecord, latest: VersionRecord) => ({
  slug: doc.slug,
  title: doc.title,
  group: doc.group,
  version: versionRef(latest),
});

export const versionEntry = (v: VersionRecord, round: unknown = null) => ({
  ...versionRef(v),
  author: v.author.name,
  summary: v.summary,
  proposals: v.proposals,
  round,
});

/** How a version came to be, for provenance: decided in a round, written by Ratify at set-up, or brought in (imported or added). */
export type VersionOrigin = 'round' | 'seeded' | 'imported';

export interface SinceView {
  version: number;
  publishedAt: string;
  summary: string;
  origin: VersionOrigin;
  round: { id: number; result: string; approve: number; object: number; abstain: number } | null;
  /** The margin note: "since v7 · round 12 · passed 14–2–1". */
  note: string;
}

/** One version as the origin of paragraphs (the version page's margin notes and the provenance API). */
export function sinceView(v: VersionRecord, round: RoundRecord | undefined, seededBy: string): SinceView {
  const r =
    round?.result && round.tally
      ? {
          id: round.id,
          result: round.result,
          approve: round.tally.approve,
          object: round.tally.object,
          abstain: round.tally.abstain,
        }
      : null;
  const origin: VersionOrigin = r ? 'round' : v.author.email === seededBy ? 'seeded' : 'imported';
  // Words a reader outside the committee understands: the decision, or where the text came from.
  const how = r
    ? `round ${r.id} · ${r.result.replace('-', ' ')} ${r.approve}–${r.object}–${r.abstain}`
    : origin === 'seeded'
      ? 'the first text'
      : 'imported history';
  return {
    version: v.number,
    publishedAt: v.publishedAt,
    summary: v.summary,
    origin,
    round: r,
    note: `since v${v.number} · ${how}`,
  };
}

/** Each numbered paragraph of version `n` with the version that last changed it (services/provenance.ts). */
export async function provenanceView(
  ctx: Ctx,
  slug: string,
  n: number,
): Promise<{ paragraph: number; since: SinceView }[]> {
  const views = new Map<number, SinceView>();
  return (await paragraphOrigins(ctx, slug, n)).map(({ paragraph, since }) => {
    let view = views.get(since.number);
    if (!view) views.set(since.number, (view = sinceView(since, roundOfVersion(ctx, since), SYSTEM_EMAIL)));
    return { paragraph, since: view };
  });
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A version page's text with a quiet note beside each numbered paragraph: the version that last
 * changed it and the decision behind it, linking to that version's decision record. The notes go
 * after each paragraph's own permalink, which util/documentHtml.ts writes (nothing in a text can).
 */
export function withProvenanceNotes(
  html: string,
  slug: string,
  origins: { paragraph: number; since: SinceView }[],
): string {
  return html.replace(
    /(<div class="para" id="p-(\d+)"><a class="pnum" href="#p-\d+">.*?<\/a>)/g,
    (whole, head: string, n: string) => {
      const since = origins[Number(n) - 1]?.since;
      if (!since) return whole;
      const href = `/documents/${slug}/versions/${since.version}${since.round ? '#decision' : ''}`;
      return `${head}<a class="since" href="${escapeHtml(href)}">${escapeHtml(since.note)}</a>`;
    },
  );
}
