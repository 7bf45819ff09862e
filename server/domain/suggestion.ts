import { conflict } from './errors.js';
import { formatMessage, oneLine } from './versionMessage.js';

/**
 * Suggested changes (issue 15): a comment anchored to a passage may carry the words that should
 * replace it (empty: delete the passage). Applying suggestions replaces each passage where it
 * sits in the current text, all in one revision.
 */

/** One passage of the current text and what replaces it. */
export interface Replacement {
  /** The suggestion's comment. */
  comment: number;
  /** How a person knows it on the page: whose, and on which words ("Carol's suggestion on “may participate”"). */
  label?: string;
  offset: number;
  length: number;
  text: string;
}

/** The text with every passage replaced; passages that overlap cannot both be applied (409 `suggestions_overlap`). */
export function replacePassages(text: string, replacements: Replacement[]): string {
  const sorted = [...replacements].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].offset < sorted[i - 1].offset + sorted[i - 1].length)
      throw conflict(
        'suggestions_overlap',
        `${sorted[i - 1].label ?? `The suggestion of comment ${sorted[i - 1].comment}`} and ${sorted[i].label ?? `that of comment ${sorted[i].comment}`} change the same words: apply one, then the other if it still fits.`,
        { comments: [sorted[i - 1].comment, sorted[i].comment] },
      );
  }
  let out = '';
  let at = 0;
  for (const r of sorted) {
    out += text.slice(at, r.offset) + r.text;
    at = r.offset + r.length;
  }
  return out + text.slice(at);
}

/** A git identity of a person: their name without the marks that delimit the address. */
const ident = (p: { name: string; email: string }) =>
  `${oneLine(p.name).replace(/[<>]/g, '') || p.email} <${p.email.replace(/[<>\s]/g, '')}>`;

/**
 * The commit message of a revision made of suggestions: what it is, then a `Co-authored-by`
 * trailer for each suggester other than the one applying (once each, in the order given).
 */
export function suggestionsMessage(
  proposal: { id: number; title: string },
  applier: { email: string },
  suggesters: { name: string; email: string }[],
): string {
  const seen = new Set([applier.email.toLowerCase()]);
  const trailers: [string, string][] = [];
  for (const s of suggesters) {
    if (seen.has(s.email.toLowerCase())) continue;
    seen.add(s.email.toLowerCase());
    trailers.push(['Co-authored-by', ident(s)]);
  }
  const subject = `Apply suggested ${suggesters.length === 1 ? 'change' : 'changes'} to proposal ${proposal.id}: ${oneLine(proposal.title)}`;
  return trailers.length ? formatMessage(subject, trailers) : `${subject}\n`;
}
