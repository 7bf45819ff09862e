/**
 * LibreOffice (soffice, an outside program: a system test, `npm run test:system`) opens Ratify's
 * Word files: a version converts to text with its words, and a comparison keeps its changes as
 * LibreOffice tracked changes by "Ratify". Skipped, saying so, where there is no soffice.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile, spawnSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { tempDir, testClock } from '../helpers/data.js';
import { zipEntry } from '../helpers/zip.js';
import { getBytes, openWordFixture, WORD_SLUG, type WordFixture } from '../helpers/wordFixture.js';

const SLUG = WORD_SLUG;
const clock = testClock('2026-03-01T09:00:00Z');
let t: WordFixture;

const sofficeWorks = spawnSync('soffice', ['--version'], { stdio: 'ignore', timeout: 60_000 }).status === 0;
if (!sofficeWorks)
  console.warn(
    'The LibreOffice checks of the Word files are skipped: there is no soffice (LibreOffice) on this machine.',
  );

const getFile = (url: string) => getBytes(t.app, url);

beforeAll(async () => {
  t = await openWordFixture(clock);
});

afterAll(async () => {
  await t.cleanup();
});

(sofficeWorks ? describe : describe.skip)('LibreOffice opens the Word files (soffice)', () => {
  let dir: string;
  const run = promisify(execFile);
  beforeAll(async () => {
    dir = await tempDir('ratify-soffice-');
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  /** Convert `file` with soffice in its own profile (never the user's, never shared with another run). */
  async function convert(file: Buffer, name: string, to: string): Promise<Buffer> {
    const input = path.join(dir, name);
    await fsp.writeFile(input, file);
    const out = path.join(dir, 'out');
    await run(
      'soffice',
      [
        `-env:UserInstallation=file://${path.join(dir, 'profile')}`,
        '--headless',
        '--convert-to',
        to,
        '--outdir',
        out,
        input,
      ],
      { timeout: 120_000 },
    );
    return fsp.readFile(path.join(out, `${path.parse(name).name}.${to.split(':')[0]}`));
  }

  test('a version converts to plain text with its words', async () => {
    const file = (await getFile(`/documents/${SLUG}/versions/2.docx`)).body as Buffer;
    const text = (await convert(file, 'version.docx', 'txt:Text (encoded):UTF8')).toString('utf8');
    expect(text).toContain('Terms of Reference of the Multistakeholder Advisory Group');
    expect(text).toContain('1. Mandate and scope');
    expect(text).toContain('The Group is purely advisory in nature.');
  }, 180_000);

  test('a comparison converts, and its revisions survive as LibreOffice tracked changes by Ratify', async () => {
    const file = (await getFile(`/documents/${SLUG}/compare.docx?from=1&to=2`)).body as Buffer;
    const text = (await convert(file, 'compare.docx', 'txt:Text (encoded):UTF8')).toString('utf8');
    expect(text).toContain('regional bodies');
    const odt = await convert(file, 'compare.docx', 'odt');
    const content = zipEntry(odt, 'content.xml')?.toString('utf8') ?? '';
    expect(content).toContain('<text:tracked-changes');
    expect(content).toMatch(/<text:insertion>/);
    expect(content).toMatch(/<text:deletion>/);
    expect(content).toContain('<dc:creator>Ratify</dc:creator>');
  }, 180_000);
});
