import { absent, forbidden, unauthenticated, type Thing } from './errors.js';
import { hasRole, inGroup, isOfficer, type Actor } from './actor.js';

/**
 * Who may do what — one table of pure functions used by the API, the pages and the CLI.
 * `see` decides visibility (not visible → 404); the action itself decides permission
 * (visible but not allowed → 403); a write without sign-in → 401.
 */
export type Subject =
  | { kind: 'none' }
  | { kind: 'document'; group: string }
  | {
      kind: 'proposal';
      group: string;
      state: string;
      authorId: number;
      wasShared?: boolean;
      /** Resolving a thread: who started it (they may resolve it). */
      threadStarter?: number;
    }
  | { kind: 'consolidation'; group: string; threadStarter?: number }
  /** Recording a ballot or recusal on a member's behalf: whether the site lets the chair do it too. */
  | { kind: 'proxy'; chairMayRecord: boolean };

const NONE: Subject = { kind: 'none' };

export type Action =
  | 'audit.read'
  | 'user.manage'
  | 'group.manage'
  | 'document.manage'
  | 'settings.manage'
  | 'account.use'
  | 'proposal.create'
  | 'proposal.read'
  | 'proposal.edit'
  | 'proposal.share'
  | 'proposal.withdraw'
  | 'comment.create'
  | 'comment.resolve'
  | 'consolidation.manage'
  | 'round.manage'
  | 'round.read'
  | 'ballot.cast'
  | 'ballot.record';

/** Actions that only read: refusing them to the public must not reveal what exists. */
const READS = new Set<Action>(['proposal.read', 'audit.read', 'round.read']);

const secretariat = (a: Actor | null) => hasRole(a, 'secretariat');

/** May the actor see the subject at all? */
export function canSee(a: Actor | null, s: Subject): boolean {
  switch (s.kind) {
    case 'none':
    case 'document':
    case 'proxy':
      return true;
    case 'proposal': {
      // Its drafters (the owning group), its author, the chair and the secretariat always;
      // all members once it has been shared (a withdrawn shared proposal stays on the record).
      const drafters = inGroup(a, s.group) || isOfficer(a) || (!!a && a.id === s.authorId);
      const everShared =
        s.state === 'shared' || s.state === 'consolidated' || (s.state === 'withdrawn' && !!s.wasShared);
      return drafters || (everShared && hasRole(a, 'member'));
    }
    case 'consolidation':
      return hasRole(a, 'member') || isOfficer(a) || inGroup(a, s.group);
  }
}

const RULES: Record<Action, (a: Actor | null, s: Subject) => boolean> = {
  'audit.read': secretariat,
  'user.manage': secretariat,
  'group.manage': secretariat,
  'document.manage': secretariat,
  'settings.manage': secretariat,
  'account.use': (a) => !!a,
  'proposal.create': (a, s) => (s.kind === 'document' ? inGroup(a, s.group) : false) || isOfficer(a),
  'proposal.read': (a, s) => canSee(a, s),
  'proposal.edit': (a, s) => s.kind === 'proposal' && (inGroup(a, s.group) || isOfficer(a)),
  'proposal.share': (a, s) => s.kind === 'proposal' && (inGroup(a, s.group) || isOfficer(a)),
  'proposal.withdraw': (a, s) => s.kind === 'proposal' && (a?.id === s.authorId || isOfficer(a)),
  'comment.create': (a, s) => !!a && canSee(a, s),
  'comment.resolve': (a, s) =>
    (s.kind === 'proposal' && inGroup(a, s.group)) ||
    isOfficer(a) ||
    ((s.kind === 'proposal' || s.kind === 'consolidation') && a !== null && s.threadStarter === a.id),
  // Consolidating, running rounds and publishing: the chair and the secretariat.
  'consolidation.manage': (a) => isOfficer(a),
  'round.manage': (a) => isOfficer(a),
  'round.read': (a) => hasRole(a, 'member') || isOfficer(a),
  // Whether this member is in the round's electorate is the round's rule, checked by the service.
  'ballot.cast': (a) => !!a,
  // The secretariat; the chair too when the site's settings say so.
  'ballot.record': (a, s) => secretariat(a) || (s.kind === 'proxy' && s.chairMayRecord && hasRole(a, 'chair')),
};

/** Whether the actor may do the action on the subject (and can see it). */
export function can(a: Actor | null, action: Action, s: Subject = NONE): boolean {
  return canSee(a, s) && RULES[action](a, s);
}

/** A change needs a person (or the command line): 401 otherwise. Narrows the actor for the code after it. */
export function signedIn(a: Actor | null): asserts a is Actor {
  if (!a) throw unauthenticated();
}

/** Throw the right refusal: 401 without sign-in, 404 (as for what does not exist) when not visible, 403 when visible but not allowed. */
export function authorize(
  a: Actor | null,
  action: Action,
  s: Subject = NONE,
  what: Thing | 'that' = 'that',
): asserts a is Actor {
  if (can(a, action, s)) return;
  if (!a && !READS.has(action)) throw unauthenticated();
  // Not visible: the very answer an id that does not exist gets.
  if (!canSee(a, s)) throw absent(what === 'that' ? (s.kind as Thing) : what);
  if (!a) throw unauthenticated();
  throw forbidden(
    'forbidden',
    `Your role does not allow you to do ${what === 'that' ? 'this' : `this to the ${what}`}.`,
  );
}
