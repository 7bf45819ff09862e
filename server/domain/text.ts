import { invalid, tooLarge } from './errors.js';
import { MAX_LABEL, MAX_TEXT_BYTES, MAX_TITLE } from './limits.js';

// The limits themselves live in limits.ts; these names stay importable from here.
export { MAX_COMMENT_BYTES, MAX_RATIONALE_BYTES, MAX_SUMMARY, MAX_TEXT_BYTES, MAX_TITLE } from './limits.js';

/** A document text: at most 1 MB of UTF-8 (413 above), no NUL. */
export function checkText(text: string): string {
  if (Buffer.byteLength(text, 'utf8') > MAX_TEXT_BYTES) throw tooLarge('text_too_large', 'A text may be at most 1 MB.');
  if (text.includes('\u0000')) throw invalid('invalid_text', 'The text contains a NUL character.');
  return text;
}

/** A one-line title of 1–200 characters. */
export function checkTitle(title: string): string {
  if (!title.trim() || title.length > MAX_TITLE || /[\r\n\u0000]/.test(title)) {
    throw invalid('invalid_title', `A title is one line of 1–${MAX_TITLE} characters.`);
  }
  return title.trim();
}

/**
 * A document's label for mail subjects: 1–16 characters once trimmed, one line, no control
 * characters, no square brackets (it sits between them: `[ToR]`). Blank means "the default
 * from the slug" (null).
 */
export function checkLabel(label: unknown): string | null {
  if (typeof label !== 'string' || /[\p{Cc}[\]]/u.test(label.trim()) || [...label.trim()].length > MAX_LABEL)
    throw invalid(
      'invalid_label',
      `A label is one line of 1–${MAX_LABEL} characters without square brackets, or empty for the default.`,
    );
  return label.trim() || null;
}

/** Free text (rationale, comment, summary) up to `maxBytes`; `required` refuses blank. */
export function checkProse(
  given: string | null | undefined,
  field: string,
  maxBytes: number,
  required: boolean,
): string {
  const value = given ?? '';
  // The size first: a 413 says what to fix even when the text has other faults, and nothing
  // larger than the limit is scanned further.
  if (Buffer.byteLength(value, 'utf8') > maxBytes)
    throw tooLarge(`${field}_too_large`, `The ${field} may be at most ${Math.round(maxBytes / 1024)} KB.`);
  if (value.includes('\u0000')) throw invalid(`invalid_${field}`, `Give the ${field} as text.`);
  if (required && !value.trim()) throw invalid(`invalid_${field}`, `The ${field} cannot be empty.`);
  return value;
}
