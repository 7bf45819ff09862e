import { Router } from 'express';
import { authorize } from '../../domain/policy.js';
import type { Ctx } from '../../services/context.js';
import { addStakeholder, listStakeholders } from '../../services/stakeholders.js';
import type { StakeholderRecord } from '../../store/meta/schema.js';
import { parseBody } from '../validate.js';
import { StakeholderBody } from '../schemas/index.js';

const stakeholderJson = (s: StakeholderRecord) => ({ slug: s.slug, name: s.name });

/** The committee's stakeholder groups (docs/API.md "Stakeholder groups"): a public list; the secretariat adds. */
export function stakeholdersApi(ctx: Ctx): Router {
  const r = Router();

  r.get('/stakeholders', (_req, res) => {
    res.json(listStakeholders(ctx).map(stakeholderJson));
  });

  r.post('/stakeholders', async (req, res) => {
    authorize(req.actor ?? null, 'group.manage');
    const body = parseBody(StakeholderBody, req);
    res.status(201).json(stakeholderJson(await addStakeholder(ctx, req.actor ?? null, body)));
  });

  return r;
}
