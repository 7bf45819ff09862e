const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "1 Dec 2026, 14:07 UTC": readable, unambiguous, the same for every reader without script. */
export function utcLabel(iso: string): string {
  const d = new Date(iso);
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${hh}:${mm} UTC`;
}

/** "1 Dec 2026". */
export function dayLabel(iso: string): string {
  const d = new Date(iso);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]);

/**
 * `<time datetime="…" data-local>1 Dec 2026, 14:07 UTC</time>` (the page's script shows it in the
 * reader's own time zone). A helper rather than an included template: lists call it once a row,
 * and an ejs include copies every local of the page each time.
 */
export function timeTag(iso: string): string {
  return `<time datetime="${escapeHtml(String(iso))}" data-local>${escapeHtml(utcLabel(iso))}</time>`;
}
