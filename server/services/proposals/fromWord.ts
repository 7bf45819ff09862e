import type { Actor } from '../../domain/actor.js';
import type { Change } from '../../domain/diff.js';
import { invalid, tooLarge } from '../../domain/errors.js';
import { MAX_DOCX_BYTES } from '../../domain/limits.js';
import { checkText } from '../../domain/text.js';
import { docxToMarkdown, NotADocx } from '../../util/wordIn.js';
import type { Ctx } from '../context.js';
import { diffTexts } from '../diffTexts.js';
import { getVersion, versionText } from '../readDocuments.js';
import { documentToPropose } from './proposals.js';

/** A proposal's text read from a Word file, and what it changes in the published text — nothing saved yet. */
export interface WordProposal {
  document: string;
  /** The published version the text is compared with (and a proposal made from it is based on). */
  baseVersion: number;
  /** The markdown, tracked changes accepted. */
  text: string;
  /** The prose diff from the published text to `text`. */
  changes: Change[];
  /** The published text of `baseVersion`. */
  published: string;
}

/**
 * Read a Word file (.docx) as the whole text of a proposal to `slug`, for the author to look at
 * before saving (the API's `?dryRun=1`, the page's preview): the same check as creating a
 * proposal comes first (404 / 403 / 401), then 413 `docx_too_large` beyond 10 MiB (or 64 MiB
 * unpacked), 400
 * `invalid_docx` for a file that is not a .docx, 400 `empty_docx` for one without text, and the
 * text's own limits (413 `text_too_large`). Reading runs through `ctx.wordIn` (the app's worker
 * pool) when there is one.
 */
export async function proposalFromWord(
  ctx: Ctx,
  actor: Actor | null,
  slug: string,
  bytes: Uint8Array,
): Promise<WordProposal> {
  const doc = documentToPropose(ctx, actor, slug);
  if (bytes.length > MAX_DOCX_BYTES) throw tooLarge('docx_too_large', 'A Word file may be at most 10 MB.');
  if (!bytes.length) throw invalid('invalid_docx', 'No file was sent: choose a Word file (.docx).');
  let text: string;
  try {
    text = await (ctx.wordIn ?? docxToMarkdown)(bytes);
  } catch (e) {
    if (e instanceof NotADocx && e.tooLarge)
      throw tooLarge('docx_too_large', 'This Word file unpacks to more than 64 MB; a text that large cannot be read.');
    if (e instanceof NotADocx)
      throw invalid(
        'invalid_docx',
        'This file is not a Word document (.docx). Save it from Word as .docx and try again.',
      );
    throw e;
  }
  checkText(text);
  if (!text.trim()) throw invalid('empty_docx', 'The Word file has no text.');
  const published = await versionText(ctx, getVersion(ctx, slug, doc.latest));
  return { document: slug, baseVersion: doc.latest, text, changes: await diffTexts(ctx, published, text), published };
}
