import { Router, type Request } from 'express';
import { ROLES } from '../../domain/actor.js';
import type { Ctx } from '../../services/context.js';
import { importUsers } from '../../services/accounts/importUsers.js';
import { addUser, disableUser, listUsers, loadUser, publicUser, setUser } from '../../services/accounts/users.js';
import { groupName } from '../../services/groups.js';
import { listStakeholders, stakeholderName } from '../../services/stakeholders.js';
import type { UserRecord } from '../../store/meta/schema.js';
import { orShowAdmin, sortedGroups, type AdminShow } from './adminCommon.js';
import { checked, done, field, maybe, takeNotice, textarea } from './formHelpers.js';
import { page } from './render.js';

const USER_ID = /^[1-9][0-9]{0,8}$/;

/**
 * The secretariat's user pages: the list, adding and importing accounts, one account's roles,
 * groups and stakeholder group, disable and enable. `listUsers`, `loadUser` and the services of
 * the forms refuse anyone else (403, 401 signed out) before they look at the id or the form.
 */
export function adminUserPages(ctx: Ctx): Router {
  const r = Router();

  /** The account of the path (`loadUser`: 403 / 401 first, then 404, for an id that is no number too). */
  const userOf = (req: Request): UserRecord => {
    const id = String(req.params.id);
    return loadUser(ctx, req.actor ?? null, USER_ID.test(id) ? Number(id) : 0);
  };

  // ── The list: add, import ─────────────────────────────────────────────────
  const emptyAdd = { email: '', name: '', roles: ['member'], groups: [] as string[], stakeholder: '' };
  const showUsers: AdminShow = (req, res, extra = {}) => {
    const users = listUsers(ctx, req.actor ?? null);
    page(res, 'admin/users', {
      title: 'Users',
      section: 'users',
      users: users.map((u) => ({
        ...publicUser(u),
        groupNames: u.groups.map((g) => groupName(ctx, g)),
        stakeholderName: stakeholderName(ctx, u.stakeholder),
      })),
      roles: ROLES,
      groups: sortedGroups(ctx),
      stakeholders: listStakeholders(ctx),
      add: emptyAdd,
      csv: '',
      error: null,
      errorCode: null,
      notice: takeNotice(req),
      ...extra,
    });
  };

  r.get('/admin/users', (req, res) => showUsers(req, res));

  r.post('/admin/users', (req, res) => {
    const input = {
      email: field(req, 'email'),
      name: field(req, 'name'),
      roles: checked(req, 'roles'),
      groups: checked(req, 'groups'),
      stakeholder: field(req, 'stakeholder'),
    };
    const password = field(req, 'password');
    return orShowAdmin(
      req,
      res,
      showUsers,
      async () => {
        // The select's empty choice is "none".
        const u = await addUser(ctx, req.actor ?? null, {
          ...input,
          stakeholder: input.stakeholder || null,
          password: password === '' ? undefined : password,
        });
        done(req, res, '/admin/users', `${u.name} (${u.email}) was added.`);
      },
      { add: input },
    );
  });

  r.post('/admin/users/import', (req, res) => {
    const csv = textarea(req, 'csv');
    return orShowAdmin(
      req,
      res,
      showUsers,
      async () => {
        const invite = field(req, 'invite') === 'yes';
        const added = await importUsers(ctx, req.actor ?? null, csv, { invite });
        done(
          req,
          res,
          '/admin/users',
          `${added.length} ${added.length === 1 ? 'account was' : 'accounts were'} imported${invite ? ' and invited by e-mail' : ''}.`,
        );
      },
      { csv },
    );
  });

  // ── One account ───────────────────────────────────────────────────────────
  const showUser =
    (user: UserRecord): AdminShow =>
    (req, res, extra = {}) => {
      const current = loadUser(ctx, req.actor ?? null, user.id);
      page(res, 'admin/user', {
        title: `User ${current.name}`,
        section: 'users',
        account: publicUser(current),
        isSelf: req.actor?.id === current.id,
        roles: ROLES,
        groups: sortedGroups(ctx),
        stakeholders: listStakeholders(ctx),
        form: {
          name: current.name,
          email: current.email,
          roles: current.roles,
          groups: current.groups,
          stakeholder: current.stakeholder ?? '',
        },
        error: null,
        errorCode: null,
        notice: takeNotice(req),
        ...extra,
      });
    };

  r.get('/admin/users/:id', (req, res) => showUser(userOf(req))(req, res));

  r.post('/admin/users/:id', (req, res) => {
    const user = userOf(req);
    // The form always shows every role and group: an unchecked box means "not". The stakeholder
    // select is changed only when sent (its empty choice is "none").
    const form = {
      name: field(req, 'name'),
      email: maybe(req, 'email'),
      roles: checked(req, 'roles'),
      groups: checked(req, 'groups'),
      stakeholder: maybe(req, 'stakeholder'),
    };
    return orShowAdmin(
      req,
      res,
      showUser(user),
      async () => {
        await setUser(ctx, req.actor ?? null, user.email, {
          ...form,
          stakeholder: form.stakeholder === undefined ? undefined : form.stakeholder || null,
        });
        done(req, res, `/admin/users/${user.id}`, 'The changes were saved.');
      },
      { form },
    );
  });

  r.post('/admin/users/:id/disable', (req, res) => {
    const user = userOf(req);
    return orShowAdmin(req, res, showUser(user), async () => {
      await disableUser(ctx, req.actor ?? null, user.email);
      done(
        req,
        res,
        `/admin/users/${user.id}`,
        `${user.name} is disabled: their sessions and API tokens no longer work.`,
      );
    });
  });

  r.post('/admin/users/:id/enable', (req, res) => {
    const user = userOf(req);
    return orShowAdmin(req, res, showUser(user), async () => {
      await setUser(ctx, req.actor ?? null, user.email, { enable: true });
      done(req, res, `/admin/users/${user.id}`, `${user.name} is enabled again.`);
    });
  });

  return r;
}
