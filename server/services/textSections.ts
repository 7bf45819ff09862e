import { headingsOf, sectionsOf, sectionText, spliceSection, type Section } from '../domain/sections.js';
import { frontMatter } from '../util/frontMatter.js';

/**
 * A whole text's sections (domain/sections.ts) read after its front matter, as its pages show
 * them: the one place that joins the two, for the document page's heading ids, the proposal
 * page's section links and the section forms and routes.
 */

const bodyStart = (text: string) => frontMatter(text)?.end ?? 0;

/** Each heading's anchor by the number of its first line (what util/documentHtml.ts gives its headings). */
export const headingIds = (text: string): Map<number, string> =>
  new Map(headingsOf(text, bodyStart(text)).map((h) => [h.line, h.id]));

/** The text's sections. */
export const textSections = (text: string): Section[] => sectionsOf(text, bodyStart(text));

/** The section with this anchor and its text as a form shows it, or null. */
export function sectionIn(text: string, anchor: string): { section: Section; text: string } | null {
  const section = textSections(text).find((s) => s.id === anchor);
  return section ? { section, text: sectionText(text, section) } : null;
}

/** The whole text with the section `anchor` replaced (the domain's rules and refusals). */
export const spliceTextSection = (text: string, anchor: string, replacement: string): string =>
  spliceSection(text, anchor, replacement, bodyStart(text));
