/**
 * The Word-file tests' shared fixture: a data folder whose Terms of Reference has a second
 * version with a renamed heading, a word in bold, a deleted sentence and an added list item,
 * and a GET that keeps the body as bytes.
 */
import { expect } from '@jest/globals';
import request from 'supertest';
import { publishVersion } from '../../server/services/publishVersion.js';
import { openTestApp, type testClock } from './data.js';

export const WORD_SLUG = 'terms-of-reference';

export type WordFixture = Awaited<ReturnType<typeof openTestApp>> & { v1: string; v2: string; v2At: string };

/** Open an app and publish the second version a day after the first. */
export async function openWordFixture(clock: ReturnType<typeof testClock>): Promise<WordFixture> {
  const t = await openTestApp({ clock });
  const v1: string = (await request(t.app).get(`/api/v1/documents/${WORD_SLUG}`)).body.text;
  const v2 = v1
    .replace('## 1. Mandate', '## 1. Mandate and scope')
    .replace('The Group is advisory in nature.', 'The Group is **purely** advisory in nature.')
    .replace(' The Group does not negotiate texts on behalf of governments or other stakeholders.', '')
    .replace(
      '- governments and intergovernmental organisations;\n',
      '- governments and intergovernmental organisations;\n- regional bodies;\n',
    );
  expect(v2).not.toBe(v1);
  clock.advance(86_400_000);
  const v = await publishVersion(t.ctx, {
    slug: WORD_SLUG,
    title: 'Terms of Reference',
    group: 'wg-strategy',
    text: v2,
    summary: 'Scope, and regional bodies',
    author: { name: 'Chris Chair', email: 'chair@example.org', at: clock() },
  });
  return { ...t, v1, v2, v2At: v.publishedAt };
}

/** A GET whose body is kept as bytes. */
export const getBytes = (app: Parameters<typeof request>[0], url: string) =>
  request(app)
    .get(url)
    .buffer(true)
    .parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });
