import { z } from 'zod';

/**
 * `POST /stakeholders` — types only (400 `invalid_input`): what the slug and the name may be is
 * the service's rule (400 `invalid_slug`, `invalid_name`).
 */
export const StakeholderBody = z.strictObject({ slug: z.string().max(1000), name: z.string().max(1000) });
export type StakeholderBody = z.infer<typeof StakeholderBody>;
