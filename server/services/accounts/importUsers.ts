import { authorize } from '../../domain/policy.js';
import type { Actor } from '../../domain/actor.js';
import { DomainError, invalid } from '../../domain/errors.js';
import type { UserRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { newUserRecord, prepareUser } from './users.js';
import { invitationPuts } from './links.js';
import { mergePuts } from '../notifications/queue.js';
import { stakeholderFromText } from '../stakeholders.js';
import { listGroups } from '../groups.js';

const field = (b: { path: string; code: string; message: string }) => ({
  path: b.path,
  code: b.code,
  message: b.message,
});

/** A list inside a cell: separated by `;` (or `,` in a file whose fields are separated by `;`), or `|`. */
const list = (s: string | undefined, delimiter: ',' | ';') =>
  (s ?? '')
    .split(delimiter === ';' ? /[,|]/ : /[;|]/)
    .map((x) => x.trim())
    .filter(Boolean);

/** The field separator of a CSV: `;` when the header line has `;` and no `,` (Excel's in much of Europe). */
const delimiterOf = (csv: string): ',' | ';' => {
  const header = csv.replace(/^\ufeff/, '').split(/\r?\n/, 1)[0] ?? '';
  return header.includes(';') && !header.includes(',') ? ';' : ',';
};

/** A working group named by its slug or its name, in any case; unknown names are left for `prepareUser` to refuse. */
function groupFromText(ctx: Ctx, text: string): string {
  const t = text.trim().toLowerCase();
  // Whole-table: a committee has a handful of working groups.
  const found = listGroups(ctx).find((g) => g.slug === t || g.name.trim().toLowerCase() === t);
  return found ? found.slug : text.trim();
}

/**
 * Create accounts from CSV (`email,name,roles,groups,stakeholder`, header in any case; fields
 * separated by `,`, or by `;` as Excel writes them in much of Europe — detected from the header;
 * lists inside a cell by `;`, or by `,` in a `;` file; groups and the optional stakeholder group
 * by slug or name, in any case). All or nothing: every row is checked first and the accounts land
 * in one write; a refusal names every bad line at once, each with its code. The accounts have no password until their holders accept an invitation.
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
  const delimiter = delimiterOf(csv);
  // The CSV reader loads with the first import, not with the server.
  const { parse } = await import('csv-parse/sync');
  try {
    rows = parse(csv, {
      delimiter,
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
  /** The line each address was first seen on: a second line with it is a mistake in the file, not an existing account. */
  const lineOf = new Map<string, number>();
  const now = ctx.clock().toISOString();
  // Every line is checked, and every bad one reported at once (with its line and code).
  const bad: { path: string; code: string; message: string; kind: DomainError['kind'] }[] = [];
  const users = rows.flatMap((row, i) => {
    try {
      const address = (row.email ?? '').trim().toLowerCase();
      const first = lineOf.get(address);
      if (address && first !== undefined)
        throw invalid('duplicate_email', `${address} is also on line ${first}: each account once.`);
      if (address) lineOf.set(address, i + 2);
      const stakeholder = stakeholderFromText(ctx, row.stakeholder ?? '');
      const groups = list(row.groups, delimiter).map((g) => groupFromText(ctx, g));
      const u = prepareUser(
        ctx,
        { email: row.email, name: row.name, roles: list(row.roles, delimiter), groups, stakeholder },
        taken,
      );
      taken.add(u.email);
      return [u];
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      bad.push({ path: `line ${i + 2}`, code: e.code, message: `Line ${i + 2}: ${e.message}`, kind: e.kind });
      return [];
    }
  });
  if (bad.length === 1) throw new DomainError(bad[0].kind, bad[0].code, bad[0].message, { fields: bad.map(field) });
  if (bad.length > 1)
    throw invalid('invalid_csv', `${bad.length} lines cannot be imported: ${bad.map((b) => b.message).join(' · ')}`, {
      fields: bad.map(field),
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
