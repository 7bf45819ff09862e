import { z } from 'zod';

/**
 * `POST /tokens` — a personal API token made with a password (and the one-time code of an
 * account with a second factor). Problems: 400 `invalid_input`; the credentials' checks: 401.
 */
export const TokenBody = z.strictObject({
  email: z.string().max(320),
  password: z.string().max(1024),
  code: z.string().max(64).optional(),
  label: z.string().max(100).optional(),
});
export type TokenBody = z.infer<typeof TokenBody>;
