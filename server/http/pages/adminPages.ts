import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { ROLES } from '../../domain/actor.js';
import { DomainError, notFound } from '../../domain/errors.js';
import { authorize, type Action } from '../../domain/policy.js';
import type { Ctx } from '../../services/context.js';
import { addDocument } from '../../services/addDocument.js';
import { addGroup } from '../../services/addGroup.js';
import { importUsers } from '../../services/accounts/importUsers.js';
import { addUser, disableUser, getUser, listUsers, publicUser, setUser } from '../../services/accounts/users.js';
import { updateDocument } from '../../services/documents/updateDocument.js';
import { listDocuments } from '../../services/readDocuments.js';
import { getSecuritySettings, setSecuritySettings, TOTP_ROLES } from '../../services/settings/securitySettings.js';
import type { UserRecord } from '../../store/meta/schema.js';
import { STATUS } from '../errors.js';
import { parse, PositiveInt } from '../validate.js';
import { page } from './render.js';

type Body = Record<string, unknown> | undefined;
type Locals = Record<string, unknown>;
type Show = (req: Request, res: Response, extra?: Locals) => void;

/** One text field of a form post ('' when absent or not text). */
const field = (req: Request, name: string) => {
  const v = (req.body as Body)?.[name];
  return typeof v === 'string' ? v : '';
};
/** A form field only when it was sent (so a partial post leaves the rest as it is). */
const maybe = (req: Request, name: string) => (typeof (req.body as Body)?.[name] === 'string' ? field(req, name) : undefined);
/** The checked values of a checkbox group (one value arrives as a string, several as an array). */
const checked = (req: Request, name: string): string[] => {
  const v = (req.body as Body)?.[name];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
};
/** A textarea's text as the person typed it: browsers send CRLF line ends, the texts keep LF. */
const textarea = (req: Request, name: string) => field(req, name).replace(/\r\n?/g, '\n');

const AuditQuery = z.object({ limit: PositiveInt.pipe(z.number().max(5000, 'must be at most 5000')).optional() });
const USER_ID = /^[1-9][0-9]{0,8}$/;

/** The secretariat's pages: users, groups, documents, the audit log and security settings. */
export function adminPages(ctx: Ctx): Router {
  const r = Router();

  const allow = (req: Request, action: Action) => authorize(req.actor ?? null, action);
  const takeNotice = (req: Request) => {
    const notice = req.session.notice ?? null;
    delete req.session.notice;
    return notice;
  };
  const groups = () => ctx.meta.all('groups').sort((a, b) => a.slug.localeCompare(b.slug));
  const groupName = (slug: string) => ctx.meta.get('groups', slug)?.name ?? slug;
  const done = (req: Request, res: Response, to: string, notice: string) => {
    req.session.notice = notice;
    res.redirect(303, to);
  };

  /** Refusals a person can fix are shown on the page they came from, with the right status; nothing was changed. */
  const orShow = async (req: Request, res: Response, show: Show, fn: () => Promise<void>, keep: Locals = {}) => {
    try {
      await fn();
    } catch (e) {
      if (!(e instanceof DomainError) || e.kind === 'forbidden' || e.kind === 'unauthenticated') throw e;
      res.status(STATUS[e.kind]);
      show(req, res, { ...keep, error: e.message, errorCode: e.code });
    }
  };

  const userOf = (req: Request): UserRecord => {
    const id = String(req.params.id);
    if (!USER_ID.test(id)) throw notFound('user_not_found', `There is no user ${id}.`);
    return getUser(ctx, Number(id));
  };

  // ── Overview ──────────────────────────────────────────────────────────────
  r.get('/admin', (req, res) => {
    allow(req, 'user.manage');
    const users = ctx.meta.all('users');
    page(res, 'admin/index', {
      title: 'Admin',
      section: 'overview',
      notice: takeNotice(req),
      counts: {
        users: users.filter((u) => !u.disabled).length,
        disabled: users.filter((u) => u.disabled).length,
        groups: ctx.meta.all('groups').length,
        documents: listDocuments(ctx).length,
      },
      requireTotpFor: getSecuritySettings(ctx).requireTotpFor,
    });
  });

  // ── Users ─────────────────────────────────────────────────────────────────
  const emptyAdd = { email: '', name: '', roles: ['member'], groups: [] as string[] };
  const showUsers: Show = (req, res, extra = {}) =>
    page(res, 'admin/users', {
      title: 'Users',
      section: 'users',
      users: listUsers(ctx).map((u) => ({ ...publicUser(u), groupNames: u.groups.map(groupName) })),
      roles: ROLES,
      groups: groups(),
      add: emptyAdd,
      csv: '',
      error: null,
      errorCode: null,
      notice: takeNotice(req),
      ...extra,
    });

  r.get('/admin/users', (req, res) => {
    allow(req, 'user.manage');
    showUsers(req, res);
  });

  r.post('/admin/users', (req, res) => {
    allow(req, 'user.manage');
    const input = { email: field(req, 'email'), name: field(req, 'name'), roles: checked(req, 'roles'), groups: checked(req, 'groups') };
    const password = field(req, 'password');
    return orShow(
      req,
      res,
      showUsers,
      async () => {
        const u = await addUser(ctx, req.actor!, { ...input, password: password === '' ? undefined : password });
        done(req, res, '/admin/users', `${u.name} (${u.email}) was added.`);
      },
      { add: input },
    );
  });

  r.post('/admin/users/import', (req, res) => {
    allow(req, 'user.manage');
    const csv = textarea(req, 'csv');
    return orShow(
      req,
      res,
      showUsers,
      async () => {
        const invite = field(req, 'invite') === 'yes';
        const added = await importUsers(ctx, req.actor!, csv, { invite });
        done(req, res, '/admin/users', `${added.length} ${added.length === 1 ? 'account was' : 'accounts were'} imported${invite ? ' and invited by e-mail' : ''}.`);
      },
      { csv },
    );
  });

  const showUser = (user: UserRecord): Show => (req, res, extra = {}) => {
    const current = getUser(ctx, user.id);
    page(res, 'admin/user', {
      title: `User ${current.name}`,
      section: 'users',
      account: publicUser(current),
      isSelf: req.actor!.id === current.id,
      roles: ROLES,
      groups: groups(),
      form: { name: current.name, roles: current.roles, groups: current.groups },
      error: null,
      errorCode: null,
      notice: takeNotice(req),
      ...extra,
    });
  };

  r.get('/admin/users/:id', (req, res) => {
    allow(req, 'user.manage');
    showUser(userOf(req))(req, res);
  });

  r.post('/admin/users/:id', (req, res) => {
    allow(req, 'user.manage');
    const user = userOf(req);
    // The form always shows every role and group: an unchecked box means "not".
    const form = { name: field(req, 'name'), roles: checked(req, 'roles'), groups: checked(req, 'groups') };
    return orShow(
      req,
      res,
      showUser(user),
      async () => {
        await setUser(ctx, req.actor!, user.email, form);
        done(req, res, `/admin/users/${user.id}`, 'The changes were saved.');
      },
      { form },
    );
  });

  r.post('/admin/users/:id/disable', (req, res) => {
    allow(req, 'user.manage');
    const user = userOf(req);
    return orShow(req, res, showUser(user), async () => {
      await disableUser(ctx, req.actor!, user.email);
      done(req, res, `/admin/users/${user.id}`, `${user.name} is disabled: their sessions and API tokens no longer work.`);
    });
  });

  r.post('/admin/users/:id/enable', (req, res) => {
    allow(req, 'user.manage');
    const user = userOf(req);
    return orShow(req, res, showUser(user), async () => {
      await setUser(ctx, req.actor!, user.email, { enable: true });
      done(req, res, `/admin/users/${user.id}`, `${user.name} is enabled again.`);
    });
  });

  // ── Groups ────────────────────────────────────────────────────────────────
  const showGroups: Show = (req, res, extra = {}) => {
    const users = ctx.meta.all('users').filter((u) => !u.disabled);
    const docs = ctx.meta.all('documents');
    page(res, 'admin/groups', {
      title: 'Groups',
      section: 'groups',
      groups: groups().map((g) => ({
        ...g,
        members: users.filter((u) => u.groups.includes(g.slug)).length,
        documents: docs.filter((d) => d.group === g.slug).length,
      })),
      add: { slug: '', name: '' },
      error: null,
      errorCode: null,
      notice: takeNotice(req),
      ...extra,
    });
  };

  r.get('/admin/groups', (req, res) => {
    allow(req, 'group.manage');
    showGroups(req, res);
  });

  r.post('/admin/groups', (req, res) => {
    allow(req, 'group.manage');
    const add = { slug: field(req, 'slug').trim(), name: field(req, 'name') };
    return orShow(
      req,
      res,
      showGroups,
      async () => {
        const g = await addGroup(ctx, req.actor!, add);
        done(req, res, '/admin/groups', `The group ${g.name} (${g.slug}) was added.`);
      },
      { add },
    );
  });

  // ── Documents ─────────────────────────────────────────────────────────────
  const showDocuments: Show = (req, res, extra = {}) =>
    page(res, 'admin/documents', {
      title: 'Documents',
      section: 'documents',
      documents: listDocuments(ctx).map(({ doc, latest }) => ({ ...doc, groupName: groupName(doc.group), latest })),
      groups: groups(),
      add: { slug: '', title: '', group: '', summary: '', text: '' },
      edit: null,
      error: null,
      errorCode: null,
      notice: takeNotice(req),
      ...extra,
    });

  r.get('/admin/documents', (req, res) => {
    allow(req, 'document.manage');
    showDocuments(req, res);
  });

  r.post('/admin/documents', (req, res) => {
    allow(req, 'document.manage');
    const add = { slug: field(req, 'slug').trim(), title: field(req, 'title'), group: field(req, 'group'), summary: field(req, 'summary'), text: textarea(req, 'text') };
    return orShow(
      req,
      res,
      showDocuments,
      async () => {
        const v = await addDocument(ctx, req.actor!, add);
        done(req, res, '/admin/documents', `${add.title.trim()} was published as version ${v.number}.`);
      },
      { add },
    );
  });

  r.post('/admin/documents/:slug', (req, res) => {
    allow(req, 'document.manage');
    const slug = String(req.params.slug);
    const changes = { title: maybe(req, 'title'), group: maybe(req, 'group') };
    return orShow(
      req,
      res,
      showDocuments,
      async () => {
        const before = ctx.meta.get('documents', slug);
        const after = await updateDocument(ctx, req.actor!, slug, changes);
        done(req, res, '/admin/documents', after === before ? `Nothing changed for ${after.title}.` : `${after.title} was saved.`);
      },
      { edit: { slug, ...changes } },
    );
  });

  // ── Audit log ─────────────────────────────────────────────────────────────
  r.get('/admin/audit', (req, res) => {
    allow(req, 'audit.read');
    const { limit = 200 } = parse(AuditQuery, { limit: req.query.limit ?? undefined }, 'invalid_limit');
    page(res, 'admin/audit', {
      title: 'Audit log',
      section: 'audit',
      limit,
      entries: ctx.meta.auditLog(limit).map(({ seq, at, actor, action, subject }) => ({ seq, at, actor, action, subject })),
    });
  });

  // ── Security ──────────────────────────────────────────────────────────────
  const showSecurity: Show = (req, res, extra = {}) => {
    const settings = getSecuritySettings(ctx);
    const without = (role: string) => ctx.meta.all('users').filter((u) => !u.disabled && u.roles.includes(role as UserRecord['roles'][number]) && !u.totp?.enabled).length;
    page(res, 'admin/security', {
      title: 'Security',
      section: 'security',
      roles: TOTP_ROLES.map((role) => ({ role, without: without(role) })),
      requireTotpFor: settings.requireTotpFor,
      error: null,
      errorCode: null,
      notice: takeNotice(req),
      ...extra,
    });
  };

  r.get('/admin/security', (req, res) => {
    allow(req, 'settings.manage');
    showSecurity(req, res);
  });

  r.post('/admin/security', (req, res) => {
    allow(req, 'settings.manage');
    const requireTotpFor = checked(req, 'requireTotpFor');
    return orShow(
      req,
      res,
      showSecurity,
      async () => {
        await setSecuritySettings(ctx, req.actor!, { requireTotpFor });
        done(req, res, '/admin/security', 'The security settings were saved.');
      },
      { requireTotpFor },
    );
  });

  return r;
}
