/**
 * Every size limit on what a member may send, in one place. The services check texts against
 * these (413 `…_too_large` beyond), the body parsers derive their caps from them, and
 * docs/API.md ("Limits") states them. Bytes are bytes of UTF-8.
 */

/** A document or proposal text, a consolidation's text, an imported version: 1 MiB. */
export const MAX_TEXT_BYTES = 1024 * 1024;
/** One comment: 64 KiB. */
export const MAX_COMMENT_BYTES = 64 * 1024;
/** A proposal's rationale ("why"): 20 KiB. */
export const MAX_RATIONALE_BYTES = 20 * 1024;
/** A title (proposal, document): one line of at most 200 characters. */
export const MAX_TITLE = 200;
/** A document's label in mail subjects (`[ToR]`): one line of at most 16 characters. */
export const MAX_LABEL = 16;
/** A version's or consolidation's summary: 2,000 characters. */
export const MAX_SUMMARY = 2000;
/** The reason given with a ballot: 5,000 characters. */
export const MAX_BALLOT_REASON = 5000;
/** The reason a round is cancelled: 2,000 characters. */
export const MAX_CANCEL_REASON = 2000;
/** Where and how a ballot recorded on a member's behalf was given ("by show of hands at the meeting of 12 Sept"). */
export const MAX_RECORD_NOTE = 2000;

/** The passage a comment quotes (its anchor): 2,000 characters. */
export const MAX_QUOTE = 2000;

/** A suggested change has a comment's limit (MAX_COMMENT_BYTES); at most this many are applied as one revision. */
export const MAX_SUGGESTIONS_APPLIED = 100;

/** Room for the other fields of a request beside its text (title, rationale, head, token…). */
const OTHER_FIELDS = 128 * 1024;

/**
 * The JSON body cap. JSON writes a newline, quote or backslash as two bytes, so a 1 MiB text
 * made of them is 2 MiB on the wire; anything beyond cannot hold a text within the limits.
 */
export const MAX_JSON_BODY_BYTES = 2 * MAX_TEXT_BYTES + 2 * MAX_RATIONALE_BYTES + OTHER_FIELDS;

/**
 * The form body cap. A form percent-encodes every byte outside ASCII letters and digits as
 * three (`%E2`), so a 1 MiB text may take 3 MiB.
 */
export const MAX_FORM_BODY_BYTES = 3 * MAX_TEXT_BYTES + 3 * MAX_RATIONALE_BYTES + OTHER_FIELDS;

/** A reply by mail, the whole message as it arrives (quoted text, HTML part, attachments): 256 KiB. */
export const MAX_REPLY_BYTES = 256 * 1024;

/** A Word file (.docx) uploaded to start a proposal: 10 MiB. Its text, once converted, is held to `MAX_TEXT_BYTES`. */
export const MAX_DOCX_BYTES = 10 * 1024 * 1024;
