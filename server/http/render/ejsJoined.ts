import ejs from 'ejs';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { byteLengthOf, chunked, writeChunks } from './keptBytes.js';

/**
 * EJS builds a page by appending each piece to one string (`__output += s`): a rope of
 * thousands of pieces, which V8 must flatten before the page can be encoded and sent. At 100 KB
 * in ~12,000 pieces (a proposal with 200 comments) flattening and encoding took ~2.7 ms; the same
 * pieces collected in an array and joined once are encoded in ~0.1 ms, and built faster too. A
 * page is not joined at all: `pageBytes` writes its pieces as UTF-8 (see there).
 *
 * `joinedOutput()` makes every template EJS compiles from then on collect its pieces that way
 * (includes too: EJS compiles them through the same `ejs.compile`). The generated source is
 * EJS's own with its first and last lines changed: the output variable, the append function and
 * the return (the pieces; the function EJS compiles joins them, `pieces` does not); the pieces, their escaping and `with (locals)` are EJS's. Templates compiled for the
 * browser, async, or with options that change those lines keep EJS's own. Idempotent: the first
 * call installs it, others do nothing.
 */
export function joinedOutput(): void {
  if ((ejs.compile as { joined?: boolean }).joined) return;
  const compile = ejs.compile;
  const joined = (template: string, opts?: ejs.Options) => {
    const plain = opts && !opts.client && !opts.async && !opts.outputFunctionName && !opts.destructuredLocals?.length;
    if (!plain) return compile(template, opts as never);
    const t = new (ejs as unknown as { Template: new (text: string, o: ejs.Options) => EjsTemplate }).Template(
      template,
      opts,
    );
    t.generateSource();
    const locals = (t.opts as { localsName?: string }).localsName ?? 'locals';
    const withLocals = (t.opts as { _with?: boolean })._with !== false;
    t.source =
      '  var __output = [];\n' +
      '  function __append(s) { if (s !== undefined && s !== null) __output.push(s) }\n' +
      (withLocals ? `  with (${locals} || {}) {\n` : '') +
      t.source +
      (withLocals ? '  }\n' : '') +
      '  return __output;\n';
    const pieces = t.compile() as unknown as (data?: ejs.Data) => unknown[];
    const fn = (data?: ejs.Data) => joinPieces(pieces(data));
    return Object.assign(fn, { pieces });
  };
  Object.assign(joined, { joined: true });
  ejs.compile = joined as typeof ejs.compile;
}

/** Pieces as one string; a piece that is a list of pieces (`piecesOf`) is read in its place. */
const joinPieces = (pieces: unknown[]): string =>
  (pieces.some(Array.isArray) ? pieces.flat(Infinity) : pieces).join('');

/** A template compiled by `joinedOutput`: the page as a string, or as its pieces. */
export type JoinedTemplate = ejs.TemplateFunction & { pieces(data?: ejs.Data): unknown[] };

/**
 * The page a view makes, as the UTF-8 bytes that are sent, written chunk by chunk. Joining the
 * pieces into one string first costs little while every piece is Latin-1, but V8 stores a string
 * with any other character (a curly quote in a comment, a name in another script) in two bytes a
 * character, and joining ~500 pieces into such a page of 120 KB took ~1 ms, against ~0.05 ms to
 * write them as UTF-8 one after the other. Pieces are put together into chunks of about
 * `CHUNK` characters first (`chunked` in keptBytes.ts; only a chunk that holds such a character is stored wide): a page of
 * thousands of small pieces (the audit log's rows) spent more on two calls into the encoder per
 * piece than on its bytes (3,000 pieces: 0.52 → 0.15 ms). The template's includes are still
 * joined as strings (they are pieces of the page); a large kept piece (`KeptBytes`) is copied as
 * the bytes it was kept as.
 */
export function pageBytes(template: JoinedTemplate, data: ejs.Data): Buffer {
  const [chunks] = chunked(template.pieces(data), null);
  const size = byteLengthOf(chunks);
  const bytes = Buffer.allocUnsafe(size);
  const at = writeChunks(chunks, bytes, 0);
  // Each piece writes the bytes its length counted; should one ever write fewer, what was never
  // written (memory not cleared) is not sent.
  return at === size ? bytes : bytes.subarray(0, at);
}

/**
 * An express view engine for EJS files whose pages are sent as bytes (`pageBytes`): the render
 * callback receives a Buffer, so whoever sends it sets the page's type (`res.type('html')`).
 * Each file is compiled once (its includes are kept by EJS, `cache: true`).
 *
 * `unsafePrototypeLocals`: a template reads the locals express gives it as they are. By default
 * EJS copies them, key by key, into a new object without a prototype for every template and every
 * include, and an include copies them once more: with the ~50 locals of a page (express's, the
 * app's helpers, the view's), those copies were a fifth of what a proposal page allocates (heap
 * sampling at ten years' volume, 20 connections). What the copy guards against, a name in a
 * template found on `Object.prototype`, cannot come from outside here: every local's name is
 * chosen by the code (values come from readers, names never do).
 */
export function bytesEngine(views: string) {
  const compiled = new Map<string, JoinedTemplate>();
  const templateOf = (file: string) => {
    let template = compiled.get(file);
    if (!template) {
      joinedOutput();
      const options = { filename: file, root: views, views: [views], cache: true, unsafePrototypeLocals: true };
      template = ejs.compile(readFileSync(file, 'utf8'), options) as JoinedTemplate;
      compiled.set(file, template);
    }
    return template;
  };
  // Express types what an engine gives as a string; it passes it on to the render callback as is.
  const engine = (file: string, data: object, done: (e: unknown, body?: string) => void): void => {
    let body: Buffer;
    try {
      body = pageBytes(templateOf(file), data as ejs.Data);
    } catch (e) {
      done(e);
      return;
    }
    done(null, body as unknown as string);
  };
  /**
   * A partial's output as its pieces, never joined (`/proposals/_text` for views/proposals/_text.ejs,
   * given `data` whole, as a view's `locals` with more): for a kept piece (render/fragments.ts
   * `large`) that can be as long as a text, where an include would join it into one string.
   */
  const piecesOf = (name: string, data: ejs.Data): unknown[] =>
    templateOf(path.join(views, `${name}.ejs`)).pieces(data);
  return Object.assign(engine, { piecesOf });
}

interface EjsTemplate {
  opts: ejs.Options;
  source: string;
  generateSource(): void;
  compile(): ejs.TemplateFunction;
}
