import { Router } from 'express';
import type { Ctx } from '../../services/context.js';
import {
  diffVersions,
  getDocument,
  getVersion,
  listDocuments,
  listVersions,
  versionText,
} from '../../services/readDocuments.js';
import { documentSummary, provenanceView, versionEntry, versionRef } from '../presenters/documents.js';
import { parse, parseQuery, Slug } from '../validate.js';
import { DocumentDiffQuery, SlugParams, VersionParams } from '../schemas/index.js';
import { absent } from '../../domain/errors.js';
import { decisionOf, roundOfVersion } from '../../services/rounds/decision.js';
import { ballotsJson, roundSummary } from '../presenters/rounds.js';
import type { VersionRecord } from '../../store/meta/schema.js';

/** Slugs that do not match the pattern cannot name a document: 404, as for any absent one. */
function slugOf(params: unknown): string {
  const { slug } = parse(SlugParams, params);
  if (!Slug.safeParse(slug).success) throw absent('document');
  return slug;
}

/** The read-only public JSON API (API.md, "Public"). */
export function publicApi(ctx: Ctx): Router {
  const r = Router();
  const roundOf = (v: VersionRecord) => {
    const round = roundOfVersion(ctx, v);
    return round ? roundSummary(ctx, round) : null;
  };

  r.get('/documents', (_req, res) => {
    res.json(listDocuments(ctx).map(({ doc, latest }) => documentSummary(doc, latest)));
  });

  r.get('/documents/:slug', async (req, res) => {
    const doc = getDocument(ctx, slugOf(req.params));
    const latest = getVersion(ctx, doc.slug, doc.latest);
    res.json({ ...documentSummary(doc, latest), text: await versionText(ctx, latest) });
  });

  r.get('/documents/:slug/versions', (req, res) => {
    res.json(listVersions(ctx, slugOf(req.params)).map((v) => versionEntry(v, roundOf(v))));
  });

  r.get('/documents/:slug/versions/:n', async (req, res) => {
    const slug = slugOf(req.params);
    const { n } = parse(VersionParams, req.params, 'invalid_version');
    const v = getVersion(ctx, slug, n);
    res.json({ ...versionRef(v), summary: v.summary, text: await versionText(ctx, v) });
  });

  r.get('/documents/:slug/versions/:n/decision', (req, res) => {
    const slug = slugOf(req.params);
    const { n } = parse(VersionParams, req.params, 'invalid_version');
    const round = decisionOf(ctx, slug, n);
    res.json({ round: roundSummary(ctx, round), ballots: ballotsJson(ctx, round, req.actor ?? null) });
  });

  r.get('/documents/:slug/versions/:n/provenance', async (req, res) => {
    const slug = slugOf(req.params);
    const { n } = parse(VersionParams, req.params, 'invalid_version');
    res.json({ document: slug, version: n, paragraphs: await provenanceView(ctx, slug, n) });
  });

  r.get('/documents/:slug/diff', async (req, res) => {
    const slug = slugOf(req.params);
    const q = parseQuery(DocumentDiffQuery, req, 'invalid_version');
    const d = await diffVersions(ctx, slug, q.from, q.to);
    res.json({ from: d.from.number, to: d.to.number, changes: d.changes });
  });

  return r;
}
