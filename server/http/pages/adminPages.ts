import { Router } from 'express';
import { z } from 'zod';
import type { Ctx } from '../../services/context.js';
import { addDocument } from '../../services/addDocument.js';
import { addGroup } from '../../services/addGroup.js';
import { addStakeholder, listStakeholders, stakeholderMembership } from '../../services/stakeholders.js';
import { groupsWithUsage } from '../../services/groups.js';
import { accountCounts } from '../../services/accounts/users.js';
import { updateDocument } from '../../services/documents/updateDocument.js';
import { docLabel } from '../../domain/mail.js';
import { openAuditLog } from '../../services/audit.js';
import { findDocument, listDocuments, managedDocuments } from '../../services/readDocuments.js';
import {
  getSecuritySettings,
  setSecuritySettings,
  withoutSecondFactor,
} from '../../services/settings/securitySettings.js';
import { editableRoundSettings, setRoundSettings } from '../../services/settings/roundSettings.js';
import { coded, parse, PositiveInt } from '../validate.js';
import { orShowAdmin, sortedGroups, type AdminShow } from './adminCommon.js';
import { checked, done, field, fromForm, maybe, takeNotice, textarea } from './formHelpers.js';
import { RoundSettingsBody, SecuritySettingsBody, StakeholderBody } from '../schemas/index.js';
import { page } from './render.js';
import { FragmentCache } from '../render/fragments.js';

const AuditQuery = z.object({
  limit: PositiveInt.pipe(z.number().max(5000, 'must be at most 5000')).optional(),
  before: coded(PositiveInt.optional(), 'invalid_before', 'must be the seq of an entry (a positive whole number)'),
});

/**
 * The secretariat's pages: the overview, groups, stakeholder groups, documents, the audit log and
 * security settings (users: adminUserPages.ts). Each page's first read and each form's service
 * refuse anyone else (403, 401 signed out); the routes do not check it again.
 */
export function adminPages(ctx: Ctx): Router {
  const r = Router();

  // ── Overview ──────────────────────────────────────────────────────────────
  r.get('/admin', (req, res) => {
    const accounts = accountCounts(ctx, req.actor ?? null);
    page(res, 'admin/index', {
      title: 'Admin',
      section: 'overview',
      notice: takeNotice(req),
      counts: {
        ...accounts,
        groups: sortedGroups(ctx).length,
        stakeholders: listStakeholders(ctx).length,
        documents: listDocuments(ctx).length,
      },
      requireTotpFor: getSecuritySettings(ctx).requireTotpFor,
    });
  });

  // ── Groups ────────────────────────────────────────────────────────────────
  const showGroups: AdminShow = (req, res, extra = {}) => {
    const groups = groupsWithUsage(ctx, req.actor ?? null);
    page(res, 'admin/groups', {
      title: 'Groups',
      section: 'groups',
      groups,
      add: { slug: '', name: '' },
      error: null,
      errorCode: null,
      notice: takeNotice(req),
      ...extra,
    });
  };

  r.get('/admin/groups', (req, res) => showGroups(req, res));

  r.post('/admin/groups', (req, res) => {
    const add = { slug: field(req, 'slug').trim(), name: field(req, 'name') };
    return orShowAdmin(
      req,
      res,
      showGroups,
      async () => {
        const g = await addGroup(ctx, req.actor ?? null, add);
        done(req, res, '/admin/groups', `The group ${g.name} (${g.slug}) was added.`);
      },
      { add },
    );
  });

  // ── Stakeholder groups ────────────────────────────────────────────────────
  const showStakeholders: AdminShow = (req, res, extra = {}) => {
    const membership = stakeholderMembership(ctx, req.actor ?? null);
    page(res, 'admin/stakeholders', {
      title: 'Stakeholder groups',
      section: 'stakeholders',
      stakeholders: listStakeholders(ctx).map((s) => ({ ...s, members: membership.members.get(s.slug) ?? 0 })),
      without: membership.without,
      add: { slug: '', name: '' },
      error: null,
      errorCode: null,
      notice: takeNotice(req),
      ...extra,
    });
  };

  r.get('/admin/stakeholders', (req, res) => showStakeholders(req, res));

  r.post('/admin/stakeholders', (req, res) => {
    const add = { slug: field(req, 'slug').trim(), name: field(req, 'name') };
    return orShowAdmin(
      req,
      res,
      showStakeholders,
      async () => {
        const s = await addStakeholder(ctx, req.actor ?? null, fromForm(StakeholderBody, add));
        done(req, res, '/admin/stakeholders', `The stakeholder group ${s.name} (${s.slug}) was added.`);
      },
      { add },
    );
  });

  // ── Documents ─────────────────────────────────────────────────────────────
  const showDocuments: AdminShow = (req, res, extra = {}) => {
    const documents = managedDocuments(ctx, req.actor ?? null);
    page(res, 'admin/documents', {
      title: 'Documents',
      section: 'documents',
      documents: documents.map(({ doc, latest, groupName }) => ({
        ...doc,
        groupName,
        latest,
        label: doc.label ?? '',
        defaultLabel: docLabel(doc.slug),
      })),
      groups: sortedGroups(ctx),
      add: { slug: '', title: '', group: '', summary: '', text: '' },
      edit: null,
      error: null,
      errorCode: null,
      notice: takeNotice(req),
      ...extra,
    });
  };

  r.get('/admin/documents', (req, res) => showDocuments(req, res));

  r.post('/admin/documents', (req, res) => {
    const add = {
      slug: field(req, 'slug').trim(),
      title: field(req, 'title'),
      group: field(req, 'group'),
      summary: field(req, 'summary'),
      text: textarea(req, 'text'),
    };
    return orShowAdmin(
      req,
      res,
      showDocuments,
      async () => {
        const v = await addDocument(ctx, req.actor ?? null, add);
        done(req, res, '/admin/documents', `${add.title.trim()} was published as version ${v.number}.`);
      },
      { add },
    );
  });

  r.post('/admin/documents/:slug', (req, res) => {
    const slug = String(req.params.slug);
    const changes = { title: maybe(req, 'title'), group: maybe(req, 'group'), label: maybe(req, 'label') };
    return orShowAdmin(
      req,
      res,
      showDocuments,
      async () => {
        const before = findDocument(ctx, slug);
        const after = await updateDocument(ctx, req.actor ?? null, slug, changes);
        done(
          req,
          res,
          '/admin/documents',
          after === before ? `Nothing changed for ${after.title}.` : `${after.title} was saved.`,
        );
      },
      { edit: { slug, ...changes } },
    );
  });

  // ── Audit log ─────────────────────────────────────────────────────────────
  // The rows of the pages of the log, kept (render/fragments.ts): an entry never changes once
  // written, so the same entries always make the same rows, whatever is written later.
  const auditRows = new FragmentCache();
  r.get('/admin/audit', async (req, res) => {
    // Opened (403 / 401) before the query is checked: who may not read the log learns nothing more.
    const auditPage = openAuditLog(ctx, req.actor ?? null);
    const { limit = 200, before } = parse(
      AuditQuery,
      { limit: req.query.limit ?? undefined, before: req.query.before ?? undefined },
      'invalid_limit',
    );
    const entries = await auditPage(limit, before);
    // An older page to link to: is anything recorded before the last change shown?
    const last = entries.at(-1)?.seq;
    const older = last !== undefined && (await auditPage(1, last)).length ? last : null;
    page(res, 'admin/audit', {
      title: 'Audit log',
      section: 'audit',
      large: auditRows.forPage(() => 'entries', '').large,
      // The entries shown: from the seq of the first to that of the last, and how many (a seq may hold several).
      rowsKey: `${entries.length} ${entries[0]?.seq} ${last}`,
      limit,
      before: before ?? null,
      older,
      entries: entries.map(({ seq, at, actor, action, subject, meta }) => ({
        seq,
        at,
        actor,
        action,
        subject,
        ip: meta?.ip ?? '',
        ua: meta?.ua ?? '',
      })),
    });
  });

  // ── Security ──────────────────────────────────────────────────────────────
  const showSecurity: AdminShow = (req, res, extra = {}) => {
    const roles = withoutSecondFactor(ctx, req.actor ?? null);
    const settings = getSecuritySettings(ctx);
    page(res, 'admin/security', {
      title: 'Security',
      section: 'security',
      roles,
      requireTotpFor: settings.requireTotpFor,
      error: null,
      errorCode: null,
      notice: takeNotice(req),
      ...extra,
    });
  };

  r.get('/admin/security', (req, res) => showSecurity(req, res));

  r.post('/admin/security', (req, res) => {
    const requireTotpFor = checked(req, 'requireTotpFor');
    return orShowAdmin(
      req,
      res,
      showSecurity,
      async () => {
        await setSecuritySettings(ctx, req.actor ?? null, fromForm(SecuritySettingsBody, { requireTotpFor }));
        done(req, res, '/admin/security', 'The security settings were saved.');
      },
      { requireTotpFor },
    );
  });

  // ── Rounds: the default record and who may record ballots on members' behalf ──
  const showRounds: AdminShow = (req, res, extra = {}) => {
    const settings = editableRoundSettings(ctx, req.actor ?? null);
    page(res, 'admin/rounds', {
      title: 'Rounds',
      section: 'rounds',
      settings,
      error: null,
      errorCode: null,
      notice: takeNotice(req),
      ...extra,
    });
  };

  r.get('/admin/rounds', (req, res) => showRounds(req, res));

  r.post('/admin/rounds', (req, res) => {
    const typed = {
      defaultRecord: field(req, 'defaultRecord'),
      chairMayRecord: field(req, 'chairMayRecord') === 'yes',
    };
    return orShowAdmin(
      req,
      res,
      showRounds,
      async () => {
        await setRoundSettings(ctx, req.actor ?? null, fromForm(RoundSettingsBody, typed));
        done(req, res, '/admin/rounds', 'The round settings were saved.');
      },
      { settings: typed },
    );
  });

  return r;
}
