/**
 * Word in (issue 15, item 5): a Word file (.docx) as the whole text of a new proposal. Its
 * tracked changes come out accepted (insertions kept, deletions dropped); the author sees the
 * diff against the published text before anything is saved (the API's `?dryRun=1`, the page's
 * preview); the same authorization as creating a proposal; 10 MiB at most (413
 * `docx_too_large`); what is not a .docx is 400 `invalid_docx`. Every refusal saves nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Document, DeletedTextRun, HeadingLevel, InsertedTextRun, Packer, Paragraph, TextRun } from 'docx';
import request from 'supertest';
import { changesDocx } from '../../server/http/render/wordOut.js';
import { csrfOf, makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { alertCode, formOf, textareaOf } from '../helpers/pages.js';
import { makeApiUsers, type ApiUser } from '../helpers/users.js';

describe('http/wordIn', () => {
  const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
  const SLUG = 'terms-of-reference'; // owned by wg-strategy
  const API = '/api/v1';
  const ROUTE = `${API}/documents/${SLUG}/proposals/docx`;
  const PW = 'a long enough password for words';

  const clock = testClock('2026-04-01T09:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let U: Record<'drafter' | 'other' | 'chair', ApiUser>;
  let member: Agent;
  let published: string;
  /** The published text changed in three places. */
  let edited: string;
  /** A .docx whose tracked changes, accepted, give `edited` (made with the docx library's revision runs). */
  let editedDocx: Buffer;
  /** A .docx with one inserted and one deleted run, made directly with the docx library. */
  let trackedDocx: Buffer;

  type Change = { op: 'equal' | 'insert' | 'delete'; text: string };
  const side = (cs: Change[], skip: Change['op']) =>
    cs
      .filter((c) => c.op !== skip)
      .map((c) => c.text)
      .join('');

  const proposalCount = () => t.ctx.meta.all('proposals').length;

  const upload = (body: Buffer, query: string, who: ApiUser | null = U.drafter) => {
    const r = request(t.app).post(`${ROUTE}${query}`).set('Content-Type', DOCX);
    return (who ? r.set(who.auth) : r).send(body);
  };

  /** A refused request: the status and code, and nothing saved. */
  async function refused(run: () => PromiseLike<request.Response>, status: number, code: string) {
    const before = proposalCount();
    const res = await run();
    if (res.status !== status || res.body?.error?.code !== code)
      throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    expect(proposalCount()).toBe(before);
  }

  beforeAll(async () => {
    t = await openTestApp({ clock });
    U = await makeApiUsers(t.ctx, {
      drafter: { email: 'drafter@example.org', name: 'Dana Drafter', roles: ['member'], groups: ['wg-strategy'] },
      other: { email: 'other@example.org', name: 'Olga Other', roles: ['member'], groups: ['wg-wsp'] },
      chair: { email: 'chair@example.org', name: 'Chris Chair', roles: ['chair'] },
    });
    await makeUser(t.ctx, {
      email: 'web@example.org',
      name: 'Wendy Web',
      roles: ['member'],
      groups: ['wg-strategy'],
      password: PW,
    });
    member = await signedIn(t.app, 'web@example.org', PW);
    published = (await request(t.app).get(`${API}/documents/${SLUG}`)).body.text;
    edited = published
      .replace('## 1. Mandate', '## 1. Mandate and scope')
      .replace('The Group is advisory in nature.', 'The Group is **purely** advisory in nature.')
      .replace(' The Group does not negotiate texts on behalf of governments or other stakeholders.', '');
    expect(edited).not.toBe(published);
    editedDocx = Buffer.from(
      await changesDocx(
        published,
        edited,
        { title: 'Terms', description: 'Edited' },
        { author: 'Dana Drafter', date: '2026-03-30T10:00:00Z' },
      ),
    );
    const by = { author: 'Dana Drafter', date: '2026-03-30T10:00:00Z' };
    trackedDocx = await Packer.toBuffer(
      new Document({
        sections: [
          {
            children: [
              new Paragraph({ heading: HeadingLevel.HEADING_1, children: [new TextRun('A short text')] }),
              new Paragraph({
                children: [
                  new TextRun('Kept words, '),
                  new InsertedTextRun({ id: 1, ...by, text: 'inserted words, ' }),
                  new DeletedTextRun({ id: 2, ...by, text: 'deleted words, ' }),
                  new TextRun({ text: 'and bold', bold: true }),
                  new TextRun(' at the end.'),
                ],
              }),
            ],
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    await t.cleanup();
  });

  describe('POST /api/v1/documents/:slug/proposals/docx', () => {
    test('tracked changes come out accepted: insertions kept, deletions dropped', async () => {
      const res = await upload(trackedDocx, '?dryRun=1');
      expect(res.status).toBe(200);
      expect(res.body.text).toBe('# A short text\n\nKept words, inserted words, **and bold** at the end.\n');
      expect(res.body.text).not.toContain('deleted words');
    });

    test('dryRun=1 answers the text and its diff against the published text, and saves nothing', async () => {
      const before = proposalCount();
      const res = await upload(editedDocx, '?dryRun=1');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ document: SLUG, baseVersion: 1, text: edited, changes: expect.any(Array) });
      expect(side(res.body.changes, 'insert')).toBe(published);
      expect(side(res.body.changes, 'delete')).toBe(edited);
      const inserted = res.body.changes
        .filter((c: Change) => c.op === 'insert')
        .map((c: Change) => c.text)
        .join(' ');
      expect(inserted).toContain('scope');
      expect(inserted).toContain('purely');
      expect(proposalCount()).toBe(before);
    });

    test('without dryRun, with a title, it is a new draft proposal whose text is the file’s', async () => {
      const res = await upload(editedDocx, `?title=${encodeURIComponent('From Word')}&rationale=Tidier`);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ document: SLUG, title: 'From Word', state: 'draft' });
      const p = await request(t.app).get(`${API}/proposals/${res.body.id}`).set(U.drafter.auth);
      expect(p.body.text).toBe(edited);
      expect(p.body.rationale).toBe('Tidier');
    });

    test('the chair may too (the same rule as creating a proposal)', async () => {
      expect((await upload(editedDocx, '?dryRun=1', U.chair)).status).toBe(200);
    });

    test('who may not propose to the document is refused before the file is read', async () => {
      await refused(() => upload(editedDocx, '?dryRun=1', null), 401, 'unauthenticated');
      await refused(() => upload(editedDocx, '?title=x', U.other), 403, 'forbidden');
      await refused(
        () =>
          request(t.app)
            .post(`${API}/documents/no-such-doc/proposals/docx?dryRun=1`)
            .set(U.drafter.auth)
            .send(editedDocx),
        404,
        'document_not_found',
      );
    });

    test('a file that is not a .docx is 400 invalid_docx', async () => {
      await refused(() => upload(Buffer.from('plain text, not a Word file'), '?dryRun=1'), 400, 'invalid_docx');
      await refused(() => upload(Buffer.alloc(0), '?title=x'), 400, 'invalid_docx');
      // A zip that is no Word document: the main part renamed.
      const renamed = Buffer.from(
        editedDocx.toString('latin1').replaceAll('word/document.xml', 'word/documenX.xml'),
        'latin1',
      );
      await refused(() => upload(renamed, '?title=x'), 400, 'invalid_docx');
      // A .docx cut short.
      await refused(() => upload(editedDocx.subarray(0, editedDocx.length / 2), '?dryRun=1'), 400, 'invalid_docx');
    });

    test('beyond 10 MiB is 413 docx_too_large', async () => {
      const big = Buffer.alloc(10 * 1024 * 1024 + 1, 0x50);
      await refused(() => upload(big, '?dryRun=1'), 413, 'docx_too_large');
    });

    test('a file whose zip says it unpacks to more than 64 MiB is 413 docx_too_large, before it is unpacked', async () => {
      // The central directory's record of word/document.xml, its unpacked size made 100 MiB.
      const bomb = Buffer.from(trackedDocx);
      const name = Buffer.from('word/document.xml');
      let at = bomb.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
      while (at >= 0 && !bomb.subarray(at + 46, at + 46 + name.length).equals(name))
        at = bomb.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), at + 4);
      expect(at).toBeGreaterThan(0);
      bomb.writeUInt32LE(100 * 1024 * 1024, at + 24);
      await refused(() => upload(bomb, '?dryRun=1'), 413, 'docx_too_large');
    });

    test('a missing title (without dryRun) or a bad query is 400, and nothing is read or saved', async () => {
      await refused(() => upload(editedDocx, ''), 400, 'invalid_title');
      await refused(() => upload(editedDocx, '?title=%20'), 400, 'invalid_title');
      await refused(() => upload(editedDocx, '?dryRun=yes'), 400, 'invalid_dry_run');
      await refused(() => upload(editedDocx, '?title=x&baseVersion=0'), 400, 'invalid_base_version');
    });

    test('a stale baseVersion is 409 stale_base', async () => {
      await refused(() => upload(editedDocx, '?title=x&baseVersion=2'), 409, 'stale_base');
    });

    test('the OpenAPI document describes the route and its body', async () => {
      const doc = (await request(t.app).get(`${API}/openapi.json`)).body;
      const op = doc.paths['/documents/{slug}/proposals/docx'].post;
      expect(Object.keys(op.requestBody.content)).toEqual([DOCX]);
      expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(['slug', 'title', 'dryRun', 'baseVersion']),
      );
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '413']));
    });
  });

  describe('the new-proposal page: a Word file, previewed before saving', () => {
    const post = (agent: Agent, file: Buffer, filename: string, csrf: string | null) => {
      const r = agent.post(`/documents/${SLUG}/proposals/docx`);
      if (csrf !== null) r.field('_csrf', csrf);
      return r.attach('file', file, { filename, contentType: DOCX });
    };

    test('the page has an upload form (multipart, a file field, its CSRF token)', async () => {
      const page = await member.get(`/documents/${SLUG}/proposals/new`);
      expect(page.status).toBe(200);
      const form = formOf(page.text, `/documents/${SLUG}/proposals/docx`);
      expect(form).toContain('enctype="multipart/form-data"');
      expect(form).toContain('type="file"');
      expect(form).toContain('name="_csrf"');
    });

    test('uploading shows the diff and the form filled with the file’s text; saving makes the proposal', async () => {
      const before = proposalCount();
      const res = await post(member, editedDocx, 'terms edited.docx', await csrfOf(member));
      expect(res.status).toBe(200);
      expect(res.text).toContain('What your Word file changes');
      expect(res.text).toContain('terms edited.docx');
      expect(res.text).toMatch(/<ins[^>]*>[^<]*scope/);
      expect(textareaOf(res.text, 'text')).toBe(edited);
      expect(proposalCount()).toBe(before);
      // The preview's own form saves it, as any new proposal.
      const save = await member
        .post(`/documents/${SLUG}/proposals`)
        .type('form')
        .send({
          _csrf: await csrfOf(member),
          title: 'From Word, by page',
          rationale: '',
          text: edited,
          baseVersion: '1',
        });
      expect(save.status).toBe(303);
      const id = Number(/\/proposals\/(\d+)$/.exec(save.headers.location)?.[1]);
      expect(proposalCount()).toBe(before + 1);
      const p = await request(t.app).get(`${API}/proposals/${id}`).set(U.drafter.auth);
      expect(p.body.text).toBe(edited);
    });

    test('without the CSRF token it is refused (403)', async () => {
      const res = await post(member, editedDocx, 'x.docx', null);
      expect(res.status).toBe(403);
    });

    test('a file that is not a .docx shows the form again with the refusal', async () => {
      const res = await post(member, Buffer.from('not a Word file'), 'notes.txt', await csrfOf(member));
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('invalid_docx');
      expect(formOf(res.text, `/documents/${SLUG}/proposals/docx`)).toContain('type="file"');
    });

    test('a file beyond 10 MiB is 413 docx_too_large', async () => {
      const res = await post(
        member,
        Buffer.alloc(10 * 1024 * 1024 + 70 * 1024, 0x50),
        'big.docx',
        await csrfOf(member),
      );
      expect(res.status).toBe(413);
      expect(res.text).toContain('docx_too_large');
    });

    test('signed out, the form post is refused', async () => {
      const res = await request(t.app)
        .post(`/documents/${SLUG}/proposals/docx`)
        .attach('file', editedDocx, { filename: 'x.docx', contentType: DOCX });
      expect([401, 303]).toContain(res.status);
      if (res.status === 303) expect(res.headers.location).toMatch(/^\/login/);
    });
  });
});
