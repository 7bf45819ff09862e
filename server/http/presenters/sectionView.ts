import { foldParagraphs } from '../../domain/diff.js';
import { checkProse, MAX_RATIONALE_BYTES } from '../../domain/text.js';
import type { Ctx } from '../../services/context.js';
import { diffTexts } from '../../services/diffTexts.js';
import { sectionIn } from '../../services/textSections.js';
import type { Section } from '../../domain/sections.js';
import type { Renderer } from '../render/renderer.js';
import { changeCounts } from './changeCounts.js';
import { TEXT_UNDER } from './proposalView.js';

/**
 * The section links and section forms of issue 15 ("edit a section"), and the preview the
 * new-proposal and edit forms share. Sections and their anchors are domain/sections.ts's, read
 * after the front matter (services/textSections.ts), so a link names the section the server splices.
 */

/** A section as a form names it: its anchor and its heading's words. */
export interface SectionLabel {
  id: string;
  words: string;
}

/** The section `anchor` of `text` as a form names it (its anchor alone when the text no longer has it). */
export const sectionLabel = async (ctx: Ctx, text: string, anchor: string): Promise<SectionLabel> => ({
  id: anchor,
  words: (await sectionIn(ctx, text, anchor))?.section.words ?? anchor,
});

/**
 * The document page's HTML with a "Propose a change to this section" link after each heading that
 * is a section (the headings with an id: util/documentHtml.ts gives ids to sections only).
 */
export const withSectionLinks = (html: string, href: (anchor: string) => string): string =>
  html.replace(
    /<h([2-6]) id="([^"]+)">[\s\S]*?<\/h\1>/g,
    (h, _level: string, id: string) =>
      `${h}\n<p class="section-link noprint"><a href="${href(id)}" aria-describedby="${id}">Propose a change to this section</a></p>`,
  );

/** Of the sections a page links (services/textSections.ts `linkedSections`), those whose heading starts in each of the text's paragraph rows ([start, end) of the text). */
export function sectionsByRow(sections: Section[], rows: { start: number; end: number }[]): SectionLabel[][] {
  // Rows and sections both run in the text's order: one pass over each.
  let k = 0;
  return rows.map((r) => {
    const here: SectionLabel[] = [];
    while (k < sections.length && sections[k].start < r.start) k++;
    for (; k < sections.length && sections[k].start < r.end; k++)
      here.push({ id: sections[k].id, words: sections[k].words });
    return here;
  });
}

/**
 * A form's preview: what the whole text after it would change in `before` (labelled `against`,
 * "revision 2", "version 1"), and how `shown` (the form's text: the whole or one section) and
 * the rationale will read. Saves nothing; the rationale is checked as saving would.
 */
export async function textPreview(
  ctx: Ctx,
  render: Renderer,
  p: { before: string; after: string; shown: string; rationale: string; against: string },
) {
  checkProse(p.rationale, 'rationale', MAX_RATIONALE_BYTES, false);
  const changes = await diffTexts(ctx, p.before, p.after);
  const [html, rationaleHtml] = await render.markdownAll([
    { text: p.shown, by: TEXT_UNDER },
    { text: p.rationale, by: TEXT_UNDER },
  ]);
  return {
    html,
    rationaleHtml: p.rationale.trim() ? rationaleHtml : '',
    blocks: foldParagraphs(changes),
    counts: changeCounts(changes),
    against: p.against,
  };
}
