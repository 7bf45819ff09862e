/**
 * The event loop's delay on `/healthz?verbose` (issue 18: no background job may hold the loop
 * over 100 ms, and the server says when one did): node's own sampler, minute by minute.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../../server/app.js';
import { LoopDelay } from '../../server/http/loopDelay.js';
import { openTestData, testClock } from '../helpers/data.js';

describe('http/loopDelay', () => {
  /** Hold the event loop for `ms`, as a job that never yields would. */
  function hold(ms: number): Promise<void> {
    return new Promise((resolve) =>
      setTimeout(() => {
        const until = performance.now() + ms;
        while (performance.now() < until) {
          // busy
        }
        // Let the sampler's late timer run before the minute is closed.
        setTimeout(resolve, 30);
      }, 30),
    );
  }

  describe('LoopDelay', () => {
    test('a 200 ms hold shows in the last minute and since start; a quiet minute after it does not', async () => {
      const d = new LoopDelay(3_600_000);
      try {
        // node's sampler measures from its own last tick: let it tick first (on a loaded machine
        // the hold once came first, and a 200 ms hold read as a 10 ms delay).
        await new Promise((r) => setTimeout(r, 60));
        await hold(200);
        d.roll();
        const held = d.report();
        expect(held.lastMinute!.max).toBeGreaterThanOrEqual(150);
        expect(held.sinceStart.max).toBeGreaterThanOrEqual(150);
        expect(held.minutesOver100ms).toBe(1);
        await new Promise((r) => setTimeout(r, 100));
        d.roll();
        const quiet = d.report();
        // (On a busy machine a quiet 100 ms can still wait for the CPU, never 200 ms of it.)
        expect(quiet.lastMinute!.max).toBeLessThan(held.lastMinute!.max);
        expect(quiet.sinceStart.max).toBeGreaterThanOrEqual(150);
        expect(quiet.minutesOver100ms).toBe(1 + (quiet.lastMinute!.max > 100 ? 1 : 0));
      } finally {
        d.stop();
      }
    });

    test('before the first minute closes there is no last minute yet', () => {
      const d = new LoopDelay(3_600_000);
      try {
        expect(d.report().lastMinute).toBeNull();
      } finally {
        d.stop();
      }
    });
  });

  describe('/healthz?verbose', () => {
    let t: Awaited<ReturnType<typeof openTestData>>;
    let app: ReturnType<typeof createApp>;
    const d = new LoopDelay(3_600_000);
    beforeAll(async () => {
      t = await openTestData({ clock: testClock() });
      app = createApp({
        ctx: t.ctx,
        config: { baseUrl: 'http://ratify.test', writeLimit: 0 },
        sessions: t.sessions,
        loopDelay: () => d.report(),
      });
    });
    afterAll(async () => {
      d.stop();
      await t.cleanup();
    });

    test('names the event loop delay; plain /healthz stays { ok: true }', async () => {
      const verbose = await request(app).get('/healthz?verbose');
      expect(verbose.status).toBe(200);
      expect(verbose.body.ok).toBe(true);
      const { max, p99, mean } = verbose.body.eventLoopDelayMs.sinceStart;
      expect(Object.keys(verbose.body.eventLoopDelayMs.sinceStart).sort()).toEqual(['max', 'mean', 'p99']);
      expect(max).toBeGreaterThanOrEqual(p99);
      expect(p99).toBeGreaterThan(0);
      expect(mean).toBeGreaterThan(0);
      expect(verbose.body.eventLoopDelayMs.minutesOver100ms).toBe(0);
      const plain = await request(app).get('/healthz');
      expect(plain.body).toEqual({ ok: true });
    });
  });
});
