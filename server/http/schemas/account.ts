import { z } from 'zod';

/** `GET /audit?limit=N` — the newest N entries (1–10,000; 100 by default). Problems: 400 `invalid_limit`. */
export const AuditQuery = z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(100) });
export type AuditQuery = z.infer<typeof AuditQuery>;
