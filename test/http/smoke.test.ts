import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { openTestApp } from '../helpers/data.js';

describe('http/smoke', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  beforeAll(async () => {
    t = await openTestApp();
  });
  afterAll(async () => {
    await t.cleanup();
  });

  describe('health', () => {
    test('GET /healthz answers ok', async () => {
      const res = await request(t.app).get('/healthz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true });
    });
  });
});
