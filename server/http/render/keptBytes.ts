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
 * `pieces` (a template's output) put together into chunks of about `CHUNK` characters, cut where
 * `slot` stands (null: never): a list of chunks per part. A kept piece among them stays whole, as
 * a chunk of its own, and so does a long string (an include's output: appended to the chunk
 * before it, it would be copied once more into a new string when that is encoded). A piece that
 * is itself a list of pieces (a partial's `piecesOf`, never joined) is read in its place. Only a
 * chunk that holds a character beyond Latin-1 is stored two bytes a character, and no string as
 * long as the whole is ever made.
 */
export function chunked(pieces: Iterable<unknown>, slot: string | null): (string | KeptBytes)[][] {
  const parts: (string | KeptBytes)[][] = [[]];
  let chunk = '';
  const flush = () => {
    if (chunk) parts[parts.length - 1].push(chunk);
    chunk = '';
  };
  const add = (text: string) => {
    if (text.length < CHUNK) {
      chunk += text;
      if (chunk.length >= CHUNK) flush();
      return;
    }
    flush();
    parts[parts.length - 1].push(text);
  };
  const read = (list: Iterable<unknown>) => {
    for (const piece of list) {
      if (Array.isArray(piece)) {
        read(piece);
        continue;
      }
      if (piece instanceof KeptBytes && slot === null) {
        flush();
        parts[parts.length - 1].push(piece);
        continue;
      }
      const text = typeof piece === 'string' ? piece : String(piece);
      if (slot === null || !text.includes(slot)) {
        add(text);
        continue;
      }
      text.split(slot).forEach((c, i) => {
        if (i) {
          flush();
          parts.push([]);
        }
        add(c);
      });
    }
  };
  read(pieces);
  flush();
  return parts;
}

/** What `chunks` take as UTF-8. */
export const byteLengthOf = (chunks: readonly (string | KeptBytes)[]) =>
  chunks.reduce((n, c) => n + (typeof c === 'string' ? Buffer.byteLength(c, 'utf8') : c.byteLength), 0);

/** Write `chunks` into `into` from `at`; returns the bytes written. */
export function writeChunks(chunks: readonly (string | KeptBytes)[], into: Buffer, at: number): number {
  let to = at;
  for (const c of chunks) to += typeof c === 'string' ? into.write(c, to, 'utf8') : c.writeInto(into, to);
  return to - at;
}

/**
 * `pieces` as UTF-8 bytes, one buffer per part around `slot` (`chunked`), all in one allocation of
 * their exact size: a page's text tab with 210,000 section links, joined into one string by an
 * include, held the event loop tens of milliseconds longer.
 */
export function encodeParts(pieces: readonly unknown[], slot: string | null): Buffer[] {
  const parts = chunked(pieces, slot);
  const whole = Buffer.allocUnsafeSlow(parts.reduce((n, p) => n + byteLengthOf(p), 0));
  let at = 0;
  return parts.map((p) => {
    const from = at;
    at += writeChunks(p, whole, at);
    return whole.subarray(from, at);
  });
}
