/** Roles are independent flags: one person can be a member, in two working groups, and secretariat. */
export const ROLES = ['member', 'chair', 'secretariat'] as const;
export type Role = (typeof ROLES)[number];

/** Who is acting, as the rules see them. `null` stands for the public (no sign-in). */
export interface Actor {
  id: number;
  email: string;
  name: string;
  roles: readonly Role[];
  groups: readonly string[];
}

export const hasRole = (a: Actor | null, r: Role): boolean => !!a && a.roles.includes(r);
export const inGroup = (a: Actor | null, g: string): boolean => !!a && a.groups.includes(g);
/** Chair or secretariat: the people who run the process. */
export const isOfficer = (a: Actor | null): boolean => hasRole(a, 'chair') || hasRole(a, 'secretariat');

/**
 * The admin command line as an actor: whoever may run it may read DATA_DIR and so do anything,
 * so it acts with the secretariat's powers; the audit log names it `cli`. It has no account
 * (id 0 matches none) and never signs a commit (commits it makes carry the system identity).
 */
export const CLI_ACTOR: Actor = Object.freeze({
  id: 0,
  email: 'cli',
  name: 'Admin command line',
  roles: Object.freeze(['secretariat'] as const),
  groups: Object.freeze([]),
});

/** Whether `a` is the system acting (the admin command line), not a person. */
export const isSystemActor = (a: { email: string } | null): boolean => a?.email === CLI_ACTOR.email;
