/**
 * Templates compiled to collect their output in an array (server/http/render/ejsJoined.ts) give
 * exactly what EJS's own compiled templates give: every tag kind, whitespace control, literal
 * delimiters, escaping, null and undefined, includes, and locals read with and without `with`;
 * and a page written as bytes (`pageBytes`, the app's view engine) is the UTF-8 of that page,
 * whatever its characters, sent as HTML.
 */
import { describe, expect, test } from '@jest/globals';
import ejs from 'ejs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { joinedOutput, pageBytes, type JoinedTemplate } from '../../server/http/render/ejsJoined.js';
import { KeptBytes } from '../../server/http/render/fragments.js';
import { CHUNK, encodeParts } from '../../server/http/render/keptBytes.js';
import fc from 'fast-check';
import { runs } from '../helpers/depth.js';
import { openTestApp } from '../helpers/data.js';

describe('http/ejsJoined', () => {
  const original = ejs.compile;
  joinedOutput();
  joinedOutput(); // a second call changes nothing

  const TEMPLATES = [
    'plain text only',
    '<p><%= title %></p>\n<%- html %>',
    '<% for (const x of items) { %><li><%= x %></li>\n<% } %>',
    '  <%_ if (flag) { _%>\n  yes\n  <%_ } _%>\nafter',
    'a <%= missing ?? "none" %> b <%= nothing %> c <%- undefinedValue %> d',
    'literal <%% not a tag %%> and <%# a comment %>end',
    'line one -%>\n<%= title -%>\nline three',
    '<%= "<script>&\'\\"" %>',
    'Ölund — “quotes” <%= title %> 日本',
  ];

  const data = {
    title: 'A <b>title</b> & more',
    html: '<em>raw</em>',
    items: ['one', '<two>', 'three & four'],
    flag: true,
    missing: null,
    nothing: null,
    undefinedValue: undefined,
  };

  describe('templates that join their output', () => {
    test('each template gives what EJS gives', () => {
      expect((ejs.compile as { joined?: boolean }).joined).toBe(true);
      for (const t of TEMPLATES) {
        for (const opts of [{}, { _with: false, localsName: 'locals' }, { strict: true, _with: false }]) {
          const use =
            opts._with === false
              ? t.replace(/\b(title|html|items|flag|missing|nothing|undefinedValue)\b/g, 'locals.$1')
              : t;
          expect(ejs.compile(use, opts)(data)).toBe(original(use, opts)(data));
        }
      }
    });

    test('includes are compiled the same way and give the same page', async () => {
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ratify-ejs-'));
      try {
        await fsp.writeFile(path.join(dir, '_row.ejs'), '<tr><td><%= x %></td></tr>\n');
        await fsp.writeFile(
          path.join(dir, 'page.ejs'),
          '<table><% for (const x of items) { %><%- include("/_row", { x }) %><% } %></table>',
        );
        const render = (compile: typeof ejs.compile) => {
          const text = 'start <%- include("/page") %> end';
          return compile(text, { root: dir, views: [dir], filename: path.join(dir, 'main.ejs') })(data);
        };
        const joined = render(ejs.compile);
        // EJS's own, includes too (they are compiled through ejs.compile).
        const installed = ejs.compile;
        ejs.compile = original;
        try {
          expect(joined).toBe(render(original));
        } finally {
          ejs.compile = installed;
        }
        expect(joined).toContain('<td>&lt;two&gt;</td>');
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
      }
    });

    test('a page written as bytes is the UTF-8 of the page joined, whatever its characters', () => {
      const texts = [
        data,
        { ...data, title: 'Zoë’s “draft” — 日本語 😀', items: ['é', '€', '𝄞 clef', '<ü>', 7], html: '\u00a0&nbsp;' },
        { ...data, items: [1, 2.5, 'x'.repeat(200_000) + '“'] },
        // A kept piece sent as its bytes (render/fragments.ts `large`), the reader's token between its parts.
        {
          ...data,
          html: new KeptBytes([Buffer.from('<b>Zoë “'), Buffer.from('” 名前 '), Buffer.from('</b>')], 'tok-1'),
        },
      ];
      for (const t of TEMPLATES)
        for (const given of texts) {
          const template = ejs.compile(t, {}) as JoinedTemplate;
          const page = original(t, {})(given);
          expect(pageBytes(template, given).equals(Buffer.from(page, 'utf8'))).toBe(true);
        }
    });

    test('pieces of any length and characters, lists of pieces among them, encode to the UTF-8 of their join, cut where the slot stands', () => {
      const slot = '\u0000slot\u0000';
      const text = fc.string({ unit: 'grapheme', maxLength: 40 });
      const piece = fc.oneof(
        text,
        // Long pieces (an include's output) are chunks of their own.
        fc.tuple(text, fc.integer({ min: CHUNK, max: 3 * CHUNK })).map(([t, n]) => t.padEnd(n, t || 'é')),
        fc.tuple(text, text).map(([a, b]) => `${a}${slot}${b}`),
        fc.integer(),
        // A partial's pieces (`piecesOf`) put in the page as they are: read in their place.
        fc.array(fc.oneof(text, fc.constant(slot)), { maxLength: 4 }),
      );
      fc.assert(
        fc.property(fc.array(piece, { maxLength: 12 }), fc.boolean(), (pieces, cut) => {
          const joined = pieces.flat().join('');
          const want = cut ? joined.split(slot) : [joined];
          const got = encodeParts(pieces, cut ? slot : null);
          expect(got.map((b) => b.toString('hex'))).toEqual(want.map((w) => Buffer.from(w, 'utf8').toString('hex')));
        }),
        runs(200),
      );
    });

    test("the app's pages and error pages are sent as those bytes, typed as HTML", async () => {
      const t = await openTestApp();
      try {
        for (const [url, status] of [
          ['/login', 200],
          ['/no-such-page', 404],
        ] as const) {
          const res = await request(t.app).get(url).set('Accept', 'text/html').buffer(true);
          expect(res.status).toBe(status);
          expect(res.headers['content-type']).toMatch(/^text\/html; charset=utf-8$/i);
          expect(res.text).toMatch(/^<!DOCTYPE html>/i);
        }
      } finally {
        await t.cleanup();
      }
    });

    test('a template compiled for the browser keeps EJS own source', () => {
      const fn = ejs.compile('<%= title %>', { client: true });
      expect(String(fn)).not.toContain("join('')");
    });
  });
});
