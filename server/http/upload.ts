import express, { type Request, type RequestHandler, type Response } from 'express';
import { invalid, tooLarge } from '../domain/errors.js';
import { MAX_DOCX_BYTES } from '../domain/limits.js';

/**
 * Word files coming in (issue 15): the API takes the file as the raw request body
 * (`readUpload`), the page as one field of a `multipart/form-data` form (`wordForm`, parsed
 * here: the project has no multipart parser, and one form with one file needs little). Both
 * stop reading at 10 MiB (413 `docx_too_large`; a declared Content-Length beyond it is refused
 * before a byte is read).
 */

const TOO_LARGE = () => tooLarge('docx_too_large', 'A Word file may be at most 10 MB.');

/** A file field of a multipart form. */
export interface FilePart {
  filename: string;
  type: string;
  data: Buffer;
}

/** Room for the form's other fields (its CSRF token) beside the file. */
const FORM_ROOM = 64 * 1024;

const rawBody = (limit: number, type: string | (() => boolean)) => {
  const parse = express.raw({ type, limit });
  return (req: Request, res: Response): Promise<void> =>
    new Promise((resolve, reject) =>
      parse(req, res, (e?: unknown) => {
        if (!e) return resolve();
        const err = e as { type?: string; status?: number };
        reject(err.type === 'entity.too.large' || err.status === 413 ? TOO_LARGE() : e);
      }),
    );
};

const anyBody = rawBody(MAX_DOCX_BYTES, () => true);

/** The request's body as bytes (any content type; empty when there is none), at most 10 MiB. */
export async function readUpload(req: Request, res: Response): Promise<Uint8Array> {
  await anyBody(req, res);
  return Buffer.isBuffer(req.body) ? req.body : new Uint8Array();
}

const formBody = rawBody(MAX_DOCX_BYTES + FORM_ROOM, 'multipart/form-data');

/**
 * For a page's upload form: a `multipart/form-data` body becomes `req.body`, text fields as
 * strings and file fields as `FilePart`s, so the CSRF check and the route read it as they read
 * any form. Other content types pass untouched.
 */
export const wordForm: RequestHandler = async (req, res, next) => {
  if (!req.is('multipart/form-data')) return next();
  await formBody(req, res);
  req.body = parseMultipart(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), req.get('content-type') ?? '');
  next();
};

/** The file sent in form field `name`, if one was. */
export function fileField(req: Request, name: string): FilePart | null {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return v && typeof v === 'object' && Buffer.isBuffer((v as FilePart).data) ? (v as FilePart) : null;
}

const BAD_FORM = () => invalid('invalid_upload', 'The form did not arrive whole; choose the file and send it again.');
/** The most fields a form may have (ours has three). */
const MAX_PARTS = 16;

/** A quoted parameter of a Content-Disposition header (`name="file"`), unescaped. */
function dispositionParam(header: string, key: string): string | undefined {
  const m = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(header);
  return m ? m[1].replace(/\\(.)/g, '$1') : undefined;
}

/**
 * A `multipart/form-data` body (RFC 7578): each part's name, and for a file its name, type and
 * bytes. The first part of a name wins; a body that does not follow the format is refused
 * (400 `invalid_upload`).
 */
export function parseMultipart(body: Buffer, contentType: string): Record<string, string | FilePart> {
  const b = /;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  if (!b) throw BAD_FORM();
  const delimiter = Buffer.from(`--${b[1] ?? b[2]}`);
  const next = Buffer.concat([Buffer.from('\r\n'), delimiter]);
  const out: Record<string, string | FilePart> = Object.create(null);
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw BAD_FORM();
  pos += delimiter.length;
  for (let parts = 0; ; parts++) {
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return out; // `--`: the closing delimiter
    if (parts >= MAX_PARTS || body[pos] !== 0x0d || body[pos + 1] !== 0x0a) throw BAD_FORM();
    const headersEnd = body.indexOf('\r\n\r\n', pos + 2);
    if (headersEnd < 0) throw BAD_FORM();
    const end = body.indexOf(next, headersEnd + 4);
    if (end < 0) throw BAD_FORM();
    const headers = body.subarray(pos + 2, headersEnd).toString('utf8');
    const data = body.subarray(headersEnd + 4, end);
    const disposition = /^content-disposition:[ \t]*form-data(.*)$/im.exec(headers)?.[1];
    const name = disposition === undefined ? undefined : dispositionParam(disposition, 'name');
    if (name !== undefined && !(name in out)) {
      const filename = dispositionParam(disposition!, 'filename');
      out[name] =
        filename === undefined
          ? data.toString('utf8')
          : { filename, type: /^content-type:[ \t]*(.*)$/im.exec(headers)?.[1].trim() ?? '', data };
    }
    pos = end + next.length;
  }
}
