/** How many characters of pieces are put together before they are encoded (`pageBytes`, `encodeParts`). */
export const CHUNK = 8192;

/**
 * A kept piece as the UTF-8 bytes it is sent as, with the reader's form token between its parts:
 * `pageBytes` (ejsJoined.ts) writes it as it is. A large piece joined into one string each time
 * cost more than making it: V8 places a string over ~128 KB in memory of its own (the pages
 * faulted in anew each time), and a piece with one character beyond Latin-1 is two bytes a
 * character. As a string (`toString`) it is the piece itself, wherever it is put.
 */
export class KeptBytes {
  constructor(
    readonly parts: readonly Buffer[],
    readonly token: string,
  ) {}

  get byteLength(): number {
    let n = Buffer.byteLength(this.token, 'utf8') * (this.parts.length - 1);
    for (const p of this.parts) n += p.length;
    return n;
  }

  /** Write the piece into `into` at `at`; returns the bytes written. */
  writeInto(into: Buffer, at: number): number {
    let to = at;
    this.parts.forEach((p, i) => {
      if (i) to += into.write(this.token, to, 'utf8');
      to += p.copy(into, to);
    });
    return to - at;
  }

  toString(): string {
    return this.parts.map((p) => p.toString('utf8')).join(this.token);
  }
}

/**
 * `pieces` (a template's output: `JoinedTemplate.pieces`) as UTF-8 bytes, cut where `slot` stands
 * (null: one part), in one allocation of their exact size. Pieces are put together into chunks of
 * about `CHUNK` characters before they are encoded, as `pageBytes` does: no string as long as the
 * whole is ever made (a page's text tab with 210,000 section links, joined into one string by an
 * include, held the event loop tens of milliseconds longer).
 */
export function encodeParts(pieces: readonly unknown[], slot: string | null): Buffer[] {
  const parts: string[][] = [[]];
  let chunk = '';
  const flush = () => {
    if (chunk) parts[parts.length - 1].push(chunk);
    chunk = '';
  };
  for (const piece of pieces) {
    const text = typeof piece === 'string' ? piece : String(piece);
    const cut = slot !== null && text.includes(slot) ? text.split(slot) : [text];
    cut.forEach((c, i) => {
      if (i) {
        flush();
        parts.push([]);
      }
      chunk += c;
      if (chunk.length >= CHUNK) flush();
    });
  }
  flush();
  const sizes = parts.map((p) => p.reduce((n, c) => n + Buffer.byteLength(c, 'utf8'), 0));
  const whole = Buffer.allocUnsafeSlow(sizes.reduce((n, m) => n + m, 0));
  let at = 0;
  return parts.map((p) => {
    const from = at;
    for (const c of p) at += whole.write(c, at, 'utf8');
    return whole.subarray(from, at);
  });
}
