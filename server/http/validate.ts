import type { Request } from 'express';
import { z } from 'zod';
import { DomainError, type ErrorKind } from '../domain/errors.js';
import { SLUG_PATTERN } from '../domain/slug.js';

/**
 * One problem with what a request sent: where (a dotted path into the body or query, `''` for
 * the whole of it), a stable code and a message for people. A refusal lists every problem in
 * `error.fields` (docs/API.md, "Errors").
 */
export interface Problem {
  path: string;
  code: string;
  message: string;
}

/** What the problems of one field are reported as; the schema modules attach it with `coded`. */
interface FieldMeta {
  code: string;
  message?: string;
}
const fieldMeta = z.registry<FieldMeta>();

/**
 * Report every problem zod finds in this field (wrong type, too long, not one of…, an unknown
 * key inside it) with `code` and, when given, `message`: the codes clients already know
 * (`invalid_quorum`, `invalid_deadline`…) stay what they were when the services found them.
 */
export function coded<S extends z.ZodType>(schema: S, code: string, message?: string): S {
  fieldMeta.add(schema as z.ZodType, message === undefined ? { code } : { code, message });
  return schema;
}

/** Params of a check whose failure has its own code and kind (a text too large: 413 `text_too_large`). */
interface CheckParams {
  code: string;
  kind: ErrorKind;
}

/** A string of at most `max` bytes of UTF-8; beyond, 413 `code` (the limits are in domain/limits.ts). */
export const utf8 = (max: number, code: string, message: string) =>
  z.string().refine((s) => Buffer.byteLength(s, 'utf8') <= max, {
    message,
    params: { code, kind: 'too_large' } satisfies CheckParams,
  });

/** The field's meta, looking through optional/nullable/default wrappers. */
function metaOf(schema: z.ZodType | undefined): FieldMeta | undefined {
  for (let s: unknown = schema; s; s = (s as { _zod: { def: { innerType?: unknown } } })._zod.def.innerType) {
    const m = fieldMeta.get(s as z.ZodType);
    if (m) return m;
  }
  return undefined;
}

/** The top-level field an issue is about, when the schema is an object. */
const fieldAt = (schema: z.ZodType, key: PropertyKey | undefined) =>
  key !== undefined && schema instanceof z.ZodObject
    ? metaOf((schema.shape as Record<PropertyKey, z.ZodType>)[key])
    : undefined;

/** A problem and the kind of refusal it calls for. */
export type Found = Problem & { kind: ErrorKind };

/** Every problem, one per path (the first zod reports), in the order zod reports them. */
function problemsOf(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], fallback: string): Found[] {
  const out: Found[] = [];
  const add = (path: PropertyKey[], code: string, message: string, kind: ErrorKind = 'invalid') => {
    const p = path.map(String).join('.');
    if (!out.some((x) => x.path === p)) out.push({ path: p, code, message, kind });
  };
  for (const i of issues) {
    const meta = fieldAt(schema, i.path[0]);
    if (i.code === 'unrecognized_keys') {
      // Unknown keys of the body are refused one by one; inside a field, the field is malformed.
      for (const k of i.keys) {
        if (i.path.length === 0) add([k], 'unknown_field', `There is no field "${k}" here.`);
        else add([...i.path, k], meta?.code ?? fallback, meta?.message ?? `There is no field "${k}" here.`);
      }
      continue;
    }
    const own = i.code === 'custom' ? (i.params as CheckParams | undefined) : undefined;
    if (own?.code) add(i.path, own.code, i.message, own.kind);
    else add(i.path, meta?.code ?? fallback, meta?.message ?? i.message);
  }
  return out;
}

/**
 * The refusal for these problems: with one problem, or several that share a code, that code
 * (and its status: 413 for a text too large); with several codes, 400 `invalid`. Every problem
 * is in `data.fields`, which the error handler sends as `error.fields`.
 */
export function refusal(found: readonly Found[]): DomainError {
  const fields: Problem[] = found.map(({ path, code, message }) => ({ path, code, message }));
  const codes = new Set(found.map((p) => p.code));
  const shared = codes.size === 1 ? found[0] : null;
  const where = (p: Problem) => (p.path ? `${p.path}: ` : '');
  if (found.length === 1)
    return new DomainError(found[0].kind, found[0].code, `${where(found[0])}${found[0].message}`, { fields });
  const message = `${found.length} problems: ${fields.map((p) => `${where(p)}${p.message}`).join(' · ')}`;
  if (shared)
    return new DomainError(found.every((p) => p.kind === shared.kind) ? shared.kind : 'invalid', shared.code, message, {
      fields,
    });
  return new DomainError('invalid', 'invalid', message, { fields });
}

/**
 * Parse `value` with `schema` or refuse with every problem at once (see `refusal`). Problems of
 * a field marked with `coded` carry its code; the others (and a value that is not even an
 * object) carry `code`; unknown keys of a strict object, `unknown_field`.
 */
/**
 * Check `value` with `schema` without throwing: the parsed value, or every problem found (for a
 * form that adds problems of its own before refusing them all at once).
 */
export function check<S extends z.ZodType>(
  schema: S,
  value: unknown,
  code = 'invalid_input',
): { ok: true; data: z.output<S> } | { ok: false; found: Found[] } {
  const r = schema.safeParse(value);
  return r.success ? { ok: true, data: r.data } : { ok: false, found: problemsOf(schema, r.error.issues, code) };
}

export function parse<S extends z.ZodType>(schema: S, value: unknown, code = 'invalid_input'): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw refusal(problemsOf(schema, r.error.issues, code));
}

/** Whether the request carried a body (which the JSON parser left unread when it was not JSON). */
const hasBody = (req: Request) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/**
 * A JSON body, parsed with its schema. No body at all reads as `{}` (a route whose fields are
 * all optional needs none); a body that is not JSON is refused as a whole.
 */
export function parseBody<S extends z.ZodType>(schema: S, req: Request, code = 'invalid_input'): z.output<S> {
  if (req.body === undefined && hasBody(req)) {
    throw refusal([
      { path: '', code, message: 'Send the body as a JSON object (Content-Type: application/json).', kind: 'invalid' },
    ]);
  }
  return parse(schema, req.body ?? {}, code);
}

/** The query string, parsed with its schema (parameters it does not name are ignored). */
export function parseQuery<S extends z.ZodType>(schema: S, req: Request, code = 'invalid_input'): z.output<S> {
  return parse(schema, { ...req.query }, code);
}

export const Slug = z.string().regex(SLUG_PATTERN, 'must be 1–64 lowercase letters, digits or dashes');
/** A positive integer given as a decimal string in a URL (no signs, no leading zeros, no exponent). */
export const PositiveInt = z
  .string()
  .regex(/^[1-9][0-9]{0,8}$/, 'must be a positive whole number')
  .transform(Number);
