import { authorize } from '../../domain/policy.js';
import { parse } from 'csv-parse/sync';
import type { Actor } from '../../domain/actor.js';
import { DomainError, invalid } from '../../domain/errors.js';
import type { UserRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { newUserRecord, prepareUser } from './users.js';
import { invitationPuts } from './links.js';
import { mergePuts } from '../notifications/queue.js';
import { stakeholderFromText } from '../stakeholders.js';

const list = (s: string | undefined) =>
  (s ?? '')
    .split(';')
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * Create accounts from CSV (`email,name,roles,groups,stakeholder`, lists separated by `;`; the
 * optional `stakeholder` column names one stakeholder group by slug or name, in any case, empty
 * for none). All or nothing: every row is checked first and the accounts land in one write; a
 * refusal names the line. The accounts have no password until their holders accept an invitation.
 */
export function importUsers(
  ctx: Ctx,
  by: Actor | null,
  csv: string,
  opts: { invite?: boolean } = {},
): Promise<UserRecord[]> {
  authorize(by, 'user.manage');
  return ctx.accounts.run(() => importUsersNow(ctx, by, csv, opts));
}

async function importUsersNow(
  ctx: Ctx,
  by: Actor | null,
  csv: string,
  opts: { invite?: boolean },
): Promise<UserRecord[]> {
  let rows: Record<string, string>[];
  try {
    rows = parse(csv, {
      columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
      skip_empty_lines: true,
      trim: true,
      bom: true,
    });
  } catch (e) {
    throw invalid('invalid_csv', `The CSV could not be read: ${(e as Error).message}`);
  }
  if (!rows.length) throw invalid('invalid_csv', 'The CSV holds no accounts.');
  if (!('email' in rows[0]) || !('name' in rows[0]))
    throw invalid(
      'invalid_csv',
      'The CSV needs the header line: email,name,roles,groups (and optionally stakeholder).',
    );
  const taken = new Set<string>();
  const now = ctx.clock().toISOString();
  const users = rows.map((row, i) => {
    try {
      const stakeholder = stakeholderFromText(ctx, row.stakeholder ?? '');
      const u = prepareUser(
        ctx,
        { email: row.email, name: row.name, roles: list(row.roles), groups: list(row.groups), stakeholder },
        taken,
      );
      taken.add(u.email);
      return u;
    } catch (e) {
      if (e instanceof DomainError) throw new DomainError(e.kind, e.code, `Line ${i + 2}: ${e.message}`);
      throw e;
    }
  });
  const records = users.map((u) => newUserRecord(ctx, u, null, now));
  await ctx.meta.write({
    actor: by?.email ?? null,
    at: ctx.clock(),
    events: records.flatMap((u) => [
      { action: 'user.created', subject: `user/${u.email}` },
      ...(opts.invite ? [{ action: 'user.invited', subject: `user/${u.email}` }] : []),
    ]),
    puts: mergePuts(
      { users: Object.fromEntries(records.map((u) => [u.id, u])) },
      ...(opts.invite ? records.map((u) => invitationPuts(ctx, u)) : []),
    ),
  });
  return records;
}
