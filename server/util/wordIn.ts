/**
 * A Word file (.docx) as markdown: mammoth reads the document into plain HTML (headings,
 * paragraphs, lists, tables, bold and italic, links; styles and layout dropped), turndown
 * writes that HTML as markdown. Tracked changes come out accepted: mammoth reads the runs of
 * an insertion (`w:ins`) as ordinary text and skips deleted text (`w:delText`), so the
 * markdown is the text as it would read with every revision accepted. Images become their alt
 * text (their bytes are never read); comments and footnotes' markers are dropped.
 */
import type TurndownService from 'turndown';

/** A Word file's media type. */
export const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** The bytes are not a Word document (.docx) mammoth can read, or (`tooLarge`) one that unpacks to too much. */
export class NotADocx extends Error {
  constructor(
    reason: string,
    readonly tooLarge = false,
  ) {
    super(reason);
    this.name = 'NotADocx';
  }
}

/** The most a .docx may unpack to, by the sizes its zip directory gives: 64 MiB. */
export const MAX_UNPACKED_BYTES = 64 * 1024 * 1024;

/**
 * The total of the unpacked sizes a zip's central directory gives (no zip64: a .docx that
 * needs it is far beyond any limit here). `NotADocx` when there is no readable directory.
 */
export function unpackedSize(bytes: Uint8Array): number {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  // The end-of-directory record is in the last 64 KiB + 22 bytes (its comment is at most 64 KiB).
  const from = Math.max(0, b.length - 0xffff - 22);
  const eocd = b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < from || eocd + 22 > b.length) throw new NotADocx('The file is not a whole zip archive.');
  const entries = b.readUInt16LE(eocd + 10);
  let at = b.readUInt32LE(eocd + 16);
  let total = 0;
  for (let i = 0; i < entries; i++) {
    if (at + 46 > b.length || b.readUInt32LE(at) !== 0x02014b50) throw new NotADocx('The zip directory is damaged.');
    const size = b.readUInt32LE(at + 24);
    if (size === 0xffffffff) return Number.POSITIVE_INFINITY;
    total += size;
    at += 46 + b.readUInt16LE(at + 28) + b.readUInt16LE(at + 30) + b.readUInt16LE(at + 32);
  }
  return total;
}

/** The start of every zip file (a .docx is one). */
const isZip = (b: Uint8Array) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;

/**
 * mammoth and turndown (about 200 modules between them) are loaded the first time a Word file is
 * read — on a worker thread in the server — not by every process that imports this file.
 */
const readers = async () => {
  const [{ default: mammoth }, { default: Turndown }] = await Promise.all([import('mammoth'), import('turndown')]);
  return { mammoth, Turndown };
};

const options = (mammoth: typeof import('mammoth')) => ({
  // Images: mammoth gives the element the picture's alt text; its bytes are never read.
  convertImage: mammoth.images.imgElement(async () => ({ src: '' })),
  // Kept: an empty line of code is an empty paragraph (empty paragraphs elsewhere fold into one blank line).
  ignoreEmptyParagraphs: false,
  // Word's "Quote" styles, and the code styles Ratify's own Word files use (http/render/wordOut.ts).
  styleMap: [
    "p[style-name='Quote'] => blockquote > p:fresh",
    "p[style-name='Intense Quote'] => blockquote > p:fresh",
    "p[style-name='Code Block'] => pre:separator('\\n')",
    "r[style-name='Code'] => code",
  ],
  // A document may link files on the machine that reads it: never follow them.
  externalFileAccess: false,
});

function turndown(Turndown: typeof TurndownService): TurndownService {
  const td = new Turndown({
    headingStyle: 'atx',
    hr: '---',
    bulletListMarker: '-',
    emDelimiter: '*',
    strongDelimiter: '**',
    codeBlockStyle: 'fenced',
  });
  // `- item` and `1. item` with one space, continuation lines indented under the item's text.
  td.addRule('listItem', {
    filter: 'li',
    replacement(content, node) {
      // An item whose text was all deleted (a tracked deletion accepted) is no item.
      if (!content.trim()) return '';
      const parent = node.parentNode as HTMLElement | null;
      let marker = '- ';
      if (parent?.nodeName === 'OL') {
        const start = Number(parent.getAttribute('start') ?? 1);
        marker = `${start + Array.prototype.indexOf.call(parent.children, node)}. `;
      }
      const body = content
        .replace(/^\n+/, '')
        .replace(/\n+$/, '\n')
        .replace(/\n(?!$)/g, `\n${' '.repeat(marker.length)}`);
      return marker + body + (node.nextSibling && !/\n$/.test(body) ? '\n' : '');
    },
  });
  // Code paragraphs (a `pre` without a `code` inside) as a fenced block.
  td.addRule('preformatted', {
    filter: (node) => node.nodeName === 'PRE' && node.firstChild?.nodeName !== 'CODE',
    replacement: (_content, node) => `\n\n\`\`\`\n${(node.textContent ?? '').replace(/\n$/, '')}\n\`\`\`\n\n`,
  });
  // A link that shows its own address is an autolink (`<https://…>`), as markdown writes it.
  td.addRule('autolink', {
    filter: (node) =>
      node.nodeName === 'A' && !!node.getAttribute('href') && node.getAttribute('href') === node.textContent,
    replacement: (_content, node) => `<${(node as HTMLElement).getAttribute('href')}>`,
  });
  // Pictures are their alt text (a link to nothing would be a broken image).
  td.addRule('image', {
    filter: 'img',
    replacement: (_content, node) => (node as HTMLElement).getAttribute('alt') ?? '',
  });
  // Tables as pipe tables, the first row as the header; a cell's line breaks become spaces.
  td.addRule('tableCell', {
    filter: ['td', 'th'],
    replacement: (content) => ` ${content.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim()} |`,
  });
  td.addRule('tableRow', {
    filter: 'tr',
    replacement(content, node) {
      const row = `|${content}\n`;
      const first = node.parentNode?.firstChild === node && !node.parentNode?.previousSibling;
      if (!first) return row;
      const cells = (node as HTMLElement).children.length;
      return row + `|${' --- |'.repeat(cells)}\n`;
    },
  });
  td.addRule('table', {
    filter: 'table',
    replacement: (content) => `\n\n${content.replace(/\n+/g, '\n').trim()}\n\n`,
  });
  td.addRule('tableSection', { filter: ['thead', 'tbody', 'tfoot'], replacement: (content) => content });
  return td;
}

/** The markdown of a .docx file; `NotADocx` when it is not one. */
export async function docxToMarkdown(bytes: Uint8Array): Promise<string> {
  if (!isZip(bytes)) throw new NotADocx('The file is not a zip archive, so not a .docx file.');
  if (unpackedSize(bytes) > MAX_UNPACKED_BYTES)
    throw new NotADocx(`The file unpacks to more than ${MAX_UNPACKED_BYTES / 1024 / 1024} MB.`, true);
  const { mammoth, Turndown } = await readers();
  let html: string;
  try {
    html = (
      await mammoth.convertToHtml(
        { buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) },
        options(mammoth),
      )
    ).value;
  } catch (e) {
    throw new NotADocx(`The file could not be read as a Word document: ${(e as Error).message ?? e}`);
  }
  const text = turndown(Turndown)
    .turndown(html)
    // turndown escapes a number and dot at the start of any text, lest it read as a list item;
    // after a heading's `#`s it cannot, and published texts number their sections so.
    .replace(/^(#{1,6} +\d+)\\\./gm, '$1.')
    // Front matter, which Ratify's own Word files write as code at the very top, is front matter again.
    .replace(/^```\n(---\n[\s\S]*?\n---)\n```(\n|$)/, '$1$2')
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return text ? `${text}\n` : '';
}

/** A Word file's markdown, or why it is not a .docx, as plain data (an error's class does not cross worker threads). */
export type WordInResult = { text: string } | { notADocx: string; tooLarge: boolean };

export async function readWord(bytes: Uint8Array): Promise<WordInResult> {
  try {
    return { text: await docxToMarkdown(bytes) };
  } catch (e) {
    if (e instanceof NotADocx) return { notADocx: e.message, tooLarge: e.tooLarge };
    throw e;
  }
}
