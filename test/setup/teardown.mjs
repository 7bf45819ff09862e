// Jest globalTeardown: remove this run's seeded data folder templates (test/helpers/data.ts).
import * as fs from 'node:fs';

export default async function globalTeardown() {
  const dir = process.env.RATIFY_TEST_TEMPLATES;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
