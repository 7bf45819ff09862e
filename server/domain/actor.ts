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
