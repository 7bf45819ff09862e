import { z } from 'zod';
import { invalid } from '../domain/errors.js';
import { SLUG_PATTERN } from '../domain/slug.js';

/** Parse `value` with `schema` or refuse with a 400 that names the first problem. */
export function parse<T>(schema: z.ZodType<T>, value: unknown, code = 'invalid_input'): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  const where = i.path.length ? `${i.path.join('.')}: ` : '';
  throw invalid(code, `${where}${i.message}`);
}

export const Slug = z.string().regex(SLUG_PATTERN, 'must be 1–64 lowercase letters, digits or dashes');
/** A positive integer given as a decimal string in a URL (no signs, no leading zeros, no exponent). */
export const PositiveInt = z
  .string()
  .regex(/^[1-9][0-9]{0,8}$/, 'must be a positive whole number')
  .transform(Number);
