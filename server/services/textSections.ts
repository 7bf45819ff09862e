import { headingsOf, sectionsOf, sectionText, spliceSection, type Section } from '../domain/sections.js';
import { frontMatter } from '../util/frontMatter.js';
import type { Ctx } from './context.js';

/**
 * A whole text's sections (domain/sections.ts) read after its front matter, as its pages show
 * them: the one place that joins the two, for the document page's heading ids, the proposal
 * page's section links and the section forms and routes.
 *
 * Reading a text's headings is linear, but a 1 MB text may hold 250,000 of them: the app runs
 * that work off the event loop and keeps its result by the text's content (`ctx.sections`, the
 * renderer); without it (CLI, tests of services) it runs inline. Every reader goes through here.
 */

const bodyStart = (text: string) => frontMatter(text)?.end ?? 0;

/** Each heading's anchor by the number of its first line (what util/documentHtml.ts gives its headings). */
export const headingIds = (text: string): Map<number, string> =>
  new Map(headingsOf(text, bodyStart(text)).map((h) => [h.line, h.id]));

/** The text's sections, computed here. */
export const sectionsOfText = (text: string): Section[] => sectionsOf(text, bodyStart(text));

/**
 * At most this many sections get their own "Edit this section" link on a proposal's page: a 1 MB
 * text may hold 210,000 headings, and a link each would make a 20 MB page. The sections past
 * them are edited with the whole text (or by their anchor's URL).
 */
export const MAX_SECTION_LINKS = 2000;

/**
 * The sections a proposal's page gives a link, in order, MAX_SECTION_LINKS at most. A text's one
 * top-level heading is its title: its "section" is the whole text (the whole-text edit is there
 * for that), and the document page shows it as the page's title, without a link.
 */
export function linkedSectionsOf(text: string): Section[] {
  const all = sectionsOfText(text);
  const single = all.length > 0 && all[0].level === 1 && !all.some((s, i) => i > 0 && s.level === 1);
  return all.slice(single ? 1 : 0, (single ? 1 : 0) + MAX_SECTION_LINKS);
}

/** The section with this anchor, or null, computed here. */
export const findSectionIn = (text: string, anchor: string): Section | null =>
  sectionsOfText(text).find((s) => s.id === anchor) ?? null;

/** The whole text with the section `anchor` replaced (the domain's rules and refusals), computed here. */
export const spliceText = (text: string, anchor: string, replacement: string): string =>
  spliceSection(text, anchor, replacement, bodyStart(text));

/** The sections a proposal's page links (linkedSectionsOf). */
export const linkedSections = (ctx: Ctx, text: string): Promise<Section[]> =>
  ctx.sections ? ctx.sections.linked(text) : Promise.resolve(linkedSectionsOf(text));

/** The section with this anchor and its text as a form shows it, or null. */
export async function sectionIn(
  ctx: Ctx,
  text: string,
  anchor: string,
): Promise<{ section: Section; text: string } | null> {
  const section = ctx.sections ? await ctx.sections.find(text, anchor) : findSectionIn(text, anchor);
  return section ? { section, text: sectionText(text, section) } : null;
}

/** The whole text with the section `anchor` replaced (the domain's rules and refusals). */
export const spliceTextSection = (ctx: Ctx, text: string, anchor: string, replacement: string): Promise<string> =>
  ctx.sections
    ? ctx.sections.splice(text, anchor, replacement)
    : Promise.resolve(spliceText(text, anchor, replacement));
