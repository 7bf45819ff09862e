import type { Actor } from '../domain/actor.js';
import type { UserRecord } from '../store/meta/schema.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Who is acting (null: the public). Set by the API's bearer check or the pages' session. */
      actor?: Actor | null;
    }
    // What passport puts on req.user: the account as stored.
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends UserRecord {}
  }
}

declare module 'express-session' {
  interface SessionData {
    /** When this signed-in session began (for the absolute lifetime). */
    startedAt?: number;
    /** A password checked, waiting for the second factor. */
    pendingLogin?: { userId: number; at: number; next: string };
    /** A one-time notice shown on the next page. */
    notice?: string;
  }
}
