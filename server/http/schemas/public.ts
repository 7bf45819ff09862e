import { z } from 'zod';
import { PositiveInt } from '../validate.js';

/** `/documents/:slug…` — a slug that does not match the pattern names no document (404). */
export const SlugParams = z.object({ slug: z.string() });
/** `/documents/:slug/versions/:n…` — 400 `invalid_version` for a malformed number. */
export const VersionParams = z.object({ slug: z.string(), n: PositiveInt });
/** `GET /documents/:slug/diff?from=N&to=M` — 400 `invalid_version`. */
export const DocumentDiffQuery = z.object({ from: PositiveInt, to: PositiveInt });
export type DocumentDiffQuery = z.infer<typeof DocumentDiffQuery>;
