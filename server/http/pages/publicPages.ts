import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { foldParagraphs, sideBySide } from '../../domain/diff.js';
import { absent, notFound } from '../../domain/errors.js';
import { can } from '../../domain/policy.js';
import { isSlug } from '../../domain/slug.js';
import type { Ctx } from '../../services/context.js';
import {
  diffVersions,
  getDocument,
  getVersion,
  listDocuments,
  listVersions,
  versionText,
} from '../../services/readDocuments.js';
import { feedPage, tagUri } from '../../services/feeds.js';
import type { VersionRecord } from '../../store/meta/schema.js';
import { groupName as groupNameOf } from '../../services/groups.js';
import { visibleProposals } from '../../services/proposals/access.js';
import { proposalItem } from '../presenters/proposalView.js';
import { decisionView } from '../presenters/roundView.js';
import { attributionView } from '../presenters/attributionView.js';
import { versionAttribution } from '../../services/consolidations/attribution.js';
import { atomFeed } from '../render/atom.js';
import { sidesOf } from '../render/renderedDiff.js';
import type { Renderer } from '../render/renderer.js';
import { parse, PositiveInt } from '../validate.js';
import { dayLabel } from '../render/time.js';
import { clip, keptPage, page, sendDocx } from './render.js';
import type { PageCache } from '../pageCache.js';
import { diffToggle } from '../presenters/diffToggle.js';
import { provenanceView, withProvenanceNotes } from '../presenters/documents.js';
import { withSectionLinks } from '../presenters/sectionView.js';

const N = z.object({ n: PositiveInt });
const Compare = z.object({
  from: PositiveInt.optional(),
  to: PositiveInt.optional(),
  /** inline (the default): the rendered diff; side-formatted: it side by side; source: the markdown diffed; side: the source side by side. */
  view: z.enum(['inline', 'side-formatted', 'side', 'source']).optional(),
});

function slugOf(slug: string): string {
  if (!isSlug(slug)) throw absent('document');
  return slug;
}

/** The public pages: documents, current text, history, versions, compare, raw text and feeds. */
export function publicPages(ctx: Ctx, baseUrl: string, render: Renderer, siteName: string, pages: PageCache): Router {
  const r = Router();

  /** Where each change of a version made from a consolidation came from, for its decision record (public, as the record is). */
  const decisionAttribution = async (req: Request, v: VersionRecord) => {
    const a = await versionAttribution(ctx, v);
    return a ? attributionView(ctx, req.actor ?? null, a) : null;
  };
  const groupName = (slug: string) => groupNameOf(ctx, slug);

  /** How to cite a version: who (the site), what (document, version), when, where (its permanent short URL), and its commit. */
  const citation = (title: string, v: { document: string; number: number; publishedAt: string; commit: string }) => ({
    who: siteName,
    what: `${title}, version ${v.number}`,
    when: v.publishedAt,
    url: `${baseUrl}/documents/${v.document}/v/${v.number}`,
    commit: v.commit,
  });

  r.get('/', (_req, res) => {
    page(res, 'documents/index', {
      title: 'Documents',
      description:
        'Ratify: where this committee governs its foundational texts. Read each text, every published version, what changed, and who decided.',
      documents: listDocuments(ctx).map(({ doc, latest }) => ({ ...doc, groupName: groupName(doc.group), latest })),
    });
  });

  r.get('/documents/:slug', async (req, res) => {
    const doc = getDocument(ctx, slugOf(req.params.slug));
    const v = getVersion(ctx, doc.slug, doc.latest);
    const canPropose = can(req.actor ?? null, 'proposal.create', { kind: 'document', group: doc.group });
    const html = await render.document(await versionText(ctx, v), doc.title);
    page(res, 'documents/show', {
      title: doc.title,
      description: clip(`${doc.title}: the current text, version ${v.number}, published ${dayLabel(v.publishedAt)}.`),
      doc: { ...doc, groupName: groupName(doc.group) },
      version: v,
      // Who may propose a change gets "Propose a change to this section" beside each heading.
      html: canPropose
        ? withSectionLinks(html, (id) => `/documents/${doc.slug}/proposals/new?section=${encodeURIComponent(id)}`)
        : html,
      current: true,
      proposals: visibleProposals(ctx, req.actor ?? null, doc.slug).map((p) => proposalItem(ctx, p)),
      canPropose,
      canConsolidate: can(req.actor ?? null, 'consolidation.manage', { kind: 'consolidation', group: doc.group }),
      decision: decisionView(ctx, v, true),
      attribution: await decisionAttribution(req, v),
      citation: citation(doc.title, v),
    });
  });

  r.get('/documents/:slug/history', (req, res) => {
    const doc = getDocument(ctx, slugOf(req.params.slug));
    const versions = listVersions(ctx, doc.slug);
    const decisions = Object.fromEntries(versions.map((v) => [v.number, decisionView(ctx, v)]));
    page(res, 'documents/history', {
      title: `History of ${doc.title}`,
      description: clip(`Every published version of ${doc.title}: when, by whom, what changed, and who decided.`),
      doc: { ...doc, groupName: groupName(doc.group) },
      versions,
      decisions,
    });
  });

  r.get('/documents/:slug/versions/:n.md', async (req, res) => {
    const slug = slugOf(req.params.slug);
    const { n } = parse(N, req.params, 'invalid_version');
    const v = getVersion(ctx, slug, n);
    res
      .type('text/markdown; charset=utf-8')
      .set('Content-Disposition', `inline; filename="${slug}-v${n}.md"`)
      .send(await versionText(ctx, v));
  });

  // Word files (issue 15): a version as it reads, and a comparison whose changes are Word revisions.
  r.get('/documents/:slug/versions/:n.docx', async (req, res) => {
    const doc = getDocument(ctx, slugOf(req.params.slug));
    const { n } = parse(N, req.params, 'invalid_version');
    const v = getVersion(ctx, doc.slug, n);
    const file = await render.wordText(await versionText(ctx, v), {
      title: `${doc.title}, version ${n}`,
      description: `${doc.title}, version ${n}, published ${dayLabel(v.publishedAt)} (${siteName}).`,
    });
    sendDocx(res, `${doc.slug}-v${n}.docx`, file);
  });

  r.get('/documents/:slug/compare.docx', async (req, res) => {
    const doc = getDocument(ctx, slugOf(req.params.slug));
    const q = parse(Compare, { from: req.query.from, to: req.query.to }, 'invalid_version');
    const to = q.to ?? doc.latest;
    const from = q.from ?? Math.max(1, to - 1);
    const [a, b] = [getVersion(ctx, doc.slug, from), getVersion(ctx, doc.slug, to)];
    // The revisions are dated when the later of the two versions was published, and made by Ratify.
    const later = a.number > b.number ? a : b;
    const file = await render.wordChanges(
      await versionText(ctx, a),
      await versionText(ctx, b),
      {
        title: `${doc.title}, version ${from} to version ${to}`,
        description: `${doc.title}: the changes from version ${from} to version ${to} as tracked changes (${siteName}).`,
      },
      { author: 'Ratify', date: new Date(later.publishedAt).toISOString().replace(/\.\d{3}Z$/, 'Z') },
    );
    sendDocx(res, `${doc.slug}-v${from}-to-v${to}.docx`, file);
  });

  r.get('/documents/:slug/versions/:n', async (req, res) => {
    // The same page for every anonymous reader until the next write (a published version is read far more than written).
    if (pages.sendKept(req, res)) return;
    const doc = getDocument(ctx, slugOf(req.params.slug));
    const { n } = parse(N, req.params, 'invalid_version');
    const v = getVersion(ctx, doc.slug, n);
    const [html, origins] = await Promise.all([
      versionText(ctx, v).then((text) => render.document(text, doc.title)),
      provenanceView(ctx, doc.slug, n),
    ]);
    keptPage(pages, req, res, 'documents/show', {
      title: `${doc.title}, version ${n}`,
      description: clip(`${doc.title}, version ${n}, published ${dayLabel(v.publishedAt)}: ${v.summary}`),
      doc: { ...doc, groupName: groupName(doc.group) },
      version: v,
      html: withProvenanceNotes(html, doc.slug, origins),
      provenance: true,
      current: n === doc.latest,
      decision: decisionView(ctx, v, true),
      attribution: await decisionAttribution(req, v),
      citation: citation(doc.title, v),
    });
  });

  // A short, permanent link to a version, for minutes and mails.
  r.get('/documents/:slug/v/:n', (req, res) => {
    const doc = getDocument(ctx, slugOf(req.params.slug));
    const { n } = parse(N, req.params, 'invalid_version');
    const v = getVersion(ctx, doc.slug, n);
    res.redirect(301, `/documents/${doc.slug}/versions/${v.number}`);
  });

  r.get('/documents/:slug/compare', async (req, res) => {
    const doc = getDocument(ctx, slugOf(req.params.slug));
    const q = parse(Compare, { from: req.query.from, to: req.query.to, view: req.query.view }, 'invalid_version');
    const to = q.to ?? doc.latest;
    const from = q.from ?? Math.max(1, to - 1);
    const d = await diffVersions(ctx, doc.slug, from, to);
    const inserted = d.changes.filter((c) => c.op === 'insert').length;
    const deleted = d.changes.filter((c) => c.op === 'delete').length;
    page(res, 'documents/compare', {
      title: `Compare versions ${from} and ${to} of ${doc.title}`,
      description: clip(
        `What changed in ${doc.title} from version ${from} to version ${to}: ${inserted} insertions, ${deleted} deletions.`,
      ),
      doc,
      versions: listVersions(ctx, doc.slug),
      from: d.from,
      to: d.to,
      view: q.view ?? 'inline',
      rendered:
        (q.view ?? 'inline') === 'inline' || q.view === 'side-formatted'
          ? await render.renderedDiff(d.texts.from, d.texts.to, 1)
          : null,
      sidesOf,
      toggle: diffToggle(`/documents/${doc.slug}/compare`, { from: d.from.number, to: d.to.number }),
      blocks: foldParagraphs(d.changes),
      rows: q.view === 'side' ? sideBySide(d.changes) : [],
      counts: { inserted, deleted },
    });
  });

  // Feeds of published versions, Atom and JSON Feed 1.1, paged (RFC 5005: 50 a page, `?page=N`,
  // page 1 the newest). Entry ids are tag: URIs of this installation, not URLs: they stay the
  // same when BASE_URL changes (RFC 4287 §4.2.6). Errors are plain text (errors.ts).
  const feedRoute = (slug: string | null, req: Request) => {
    const page = req.query.page === undefined ? 1 : Number(req.query.page);
    if (!Number.isInteger(page) || page < 1 || String(req.query.page ?? '1') !== String(page))
      throw notFound('page_not_found', 'Feed pages are numbered from 1.');
    const f = feedPage(ctx, slug, page);
    const base = slug === null ? `${baseUrl}/feed` : `${baseUrl}/documents/${slug}/feed`;
    const at = (ext: 'atom' | 'json', n: number) => `${base}.${ext}${n === 1 ? '' : `?page=${n}`}`;
    const links = (ext: 'atom' | 'json') => ({
      self: at(ext, f.page),
      first: at(ext, 1),
      last: at(ext, f.pages),
      ...(f.page > 1 ? { previous: at(ext, f.page - 1) } : {}),
      ...(f.page < f.pages ? { next: at(ext, f.page + 1) } : {}),
    });
    const title =
      slug === null
        ? 'Ratify — published versions'
        : `${f.entries[0]?.doc.title ?? getDocument(ctx, slug).title} — versions`;
    return {
      f,
      links,
      title,
      id: tagUri(f.authority, slug === null ? 'feed' : `documents/${slug}`),
      alternate: slug === null ? `${baseUrl}/` : `${baseUrl}/documents/${slug}/history`,
      entries: f.entries.map(({ doc, v }) => entry(baseUrl, f.authority, doc.title, v)),
    };
  };
  const atom = (slug: string | null, req: Request, res: Response) => {
    const x = feedRoute(slug, req);
    const { self, ...paging } = x.links('atom');
    res.type('application/atom+xml; charset=utf-8').send(
      atomFeed({
        id: x.id,
        title: x.title,
        self,
        alternate: x.alternate,
        updated: x.f.updated,
        entries: x.entries,
        paging,
      }),
    );
  };
  const json = (slug: string | null, req: Request, res: Response) => {
    const x = feedRoute(slug, req);
    const l = x.links('json');
    res.type('application/feed+json; charset=utf-8').send(
      JSON.stringify({
        version: 'https://jsonfeed.org/version/1.1',
        title: x.title,
        home_page_url: x.alternate,
        feed_url: l.self,
        ...(l.next ? { next_url: l.next } : {}),
        language: 'en',
        items: x.entries.map((e) => ({
          id: e.id,
          url: e.link,
          title: e.title,
          summary: e.summary,
          content_text: e.summary,
          date_published: e.updated,
          authors: [{ name: e.author }],
        })),
      }),
    );
  };
  r.get('/documents/:slug/feed.atom', (req, res) => atom(slugOf(req.params.slug), req, res));
  r.get('/documents/:slug/feed.json', (req, res) => json(slugOf(req.params.slug), req, res));
  r.get('/feed.atom', (req, res) => atom(null, req, res));
  r.get('/feed.json', (req, res) => json(null, req, res));

  return r;
}

function entry(
  baseUrl: string,
  authority: string,
  title: string,
  v: { document: string; number: number; publishedAt: string; author: { name: string }; summary: string },
) {
  const link =
    v.number > 1
      ? `${baseUrl}/documents/${v.document}/compare?from=${v.number - 1}&to=${v.number}`
      : `${baseUrl}/documents/${v.document}/versions/${v.number}`;
  return {
    id: tagUri(authority, `documents/${v.document}/versions/${v.number}`),
    title: `${title}: version ${v.number}`,
    updated: v.publishedAt,
    link,
    author: v.author.name,
    summary: v.summary,
  };
}
