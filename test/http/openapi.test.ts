/**
 * The OpenAPI document the server serves is valid OpenAPI 3.1 (checked by a validator of its
 * own) and names every route of the API with the schema its body is parsed with.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import request from 'supertest';
import { API_ROUTES } from '../../server/http/schemas/index.js';
import { openTestApp, projectRoot } from '../helpers/data.js';

describe('http/openapi', () => {
  const VALIDATE = `
import SwaggerParser from '@apidevtools/swagger-parser';
let text = '';
for await (const chunk of process.stdin) text += chunk;
await SwaggerParser.validate(JSON.parse(text));
console.log('valid');
`;

  let t: Awaited<ReturnType<typeof openTestApp>>;
  beforeAll(async () => {
    t = await openTestApp();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('GET /api/v1/openapi.json: public, valid OpenAPI, every route with its body schema', async () => {
    const res = await request(t.app).get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: { properties?: object } }> } }>
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    // The validator runs in plain node (it loads ES modules through require, which jest's runtime cannot).
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', VALIDATE], {
      input: JSON.stringify(doc),
      encoding: 'utf8',
      cwd: projectRoot,
    });
    expect(out.trim()).toBe('valid');
    for (const r of API_ROUTES) {
      const op = doc.paths[r.path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[r.method];
      expect([r.method, r.path, !!op]).toEqual([r.method, r.path, true]);
      // A JSON body, or a file sent as it is (a Word file).
      expect([r.method, r.path, !!op.requestBody]).toEqual([r.method, r.path, !!(r.body || r.upload)]);
    }
    const open = doc.paths['/rounds'].post.requestBody!.content['application/json'].schema.properties as Record<
      string,
      unknown
    >;
    expect(Object.keys(open)).toEqual(
      expect.arrayContaining(['subject', 'rule', 'quorum', 'closesAt', 'record', 'conditions']),
    );
  });

  test('docs/API.md lists every route of the API', async () => {
    const fs = await import('node:fs');
    const doc = fs.readFileSync(`${projectRoot}/docs/API.md`, 'utf8');
    const table = doc.slice(doc.indexOf('## Routes'), doc.indexOf('## Limits'));
    // Each row's first cell names routes as `GET, POST /path?query` or, after one, `…/sibling`.
    const listed = new Set<string>();
    for (const row of table.split('\n').filter((l) => l.startsWith('| `'))) {
      let methods: string[] = [];
      let last = '';
      for (const [, item] of row.split(' | ')[0].matchAll(/`([^`]+)`/g)) {
        const m = /^([A-Z, ]+) (\/\S*)$/.exec(item);
        let path: string;
        if (m) {
          methods = m[1].split(',').map((x) => x.trim());
          path = m[2];
        } else if (item.startsWith('…/')) path = `${last.replace(/\/[^/]+$/, '')}/${item.slice(2)}`;
        else continue;
        last = path.split('?')[0];
        for (const method of methods) listed.add(`${method} ${last}`);
      }
    }
    expect(API_ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`).filter((r) => !listed.has(r))).toEqual([]);
  });
});
