/**
 * The commit message of a published version: the summary, then git trailers that make the
 * repository tell on its own which document and version this is and who decided it
 * (PRODUCT.md rule 6). Parsing is the inverse of formatting, so the version index can be
 * rebuilt from `main` alone.
 */
export type Trailers = [key: string, value: string][];

const TRAILER = /^([A-Za-z][A-Za-z0-9-]*): (.*)$/;

/** One line, no control characters: trailer values and subjects must not break the format. */
export const oneLine = (s: string) => s.replace(/[\r\n\t\u0000-\u001f\u007f]+/g, ' ').trim();

export function formatMessage(summary: string, trailers: Trailers): string {
  const body =
    summary
      .replace(/\r\n?/g, '\n')
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
      .trim() || 'Published version';
  const block = trailers.map(([k, v]) => `${k}: ${oneLine(v)}`).join('\n');
  return `${body}\n\n${block}\n`;
}

export function parseMessage(message: string): { summary: string; trailers: Map<string, string> } {
  const text = message.replace(/\s+$/, '');
  const cut = text.lastIndexOf('\n\n');
  const lastPara = cut >= 0 ? text.slice(cut + 2) : '';
  const lines = lastPara.split('\n');
  const trailers = new Map<string, string>();
  if (lines.length && lines.every((l) => TRAILER.test(l))) {
    for (const l of lines) {
      const m = TRAILER.exec(l)!;
      trailers.set(m[1], m[2]);
    }
    return { summary: text.slice(0, cut).trim(), trailers };
  }
  return { summary: text.trim(), trailers };
}

/** The trailers that identify a version of a document. */
export function versionTrailers(v: { slug: string; number: number; title: string; group: string }): Trailers {
  return [
    ['Ratify-Document', v.slug],
    ['Ratify-Version', String(v.number)],
    ['Ratify-Title', v.title],
    ['Ratify-Group', v.group],
  ];
}
