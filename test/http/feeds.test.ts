/**
 * Feeds stay well-formed XML 1.0 whatever the texts they carry: characters XML forbids
 * (U+FFFE, U+FFFF, lone surrogates, C0 controls other than tab, LF and CR) are dropped from
 * everything written into a feed. Checked with saxes, a strict XML 1.0 parser.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SaxesParser } from 'saxes';
import request from 'supertest';
import { addDocument } from '../../server/services/addDocument.js';
import { xmlSafe } from '../../server/http/render/atom.js';
import { openTestApp } from '../helpers/data.js';

describe('http/feeds', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;

  const FORBIDDEN = '\uFFFE\uFFFF\uDC00\uD800x\uDBFF\u0000\u0001\u0008\u000B\u000C\u000E\u001F';
  const KEPT = 'tab\there, line\nbreak, é, 😀 & <b>';

  beforeAll(async () => {
    t = await openTestApp();
    await addDocument(t.ctx, CLI_ACTOR, {
      slug: 'odd',
      title: `Odd ${FORBIDDEN} title`,
      group: 'mag',
      text: '# Odd\n\nText.\n',
      summary: `Odd ${FORBIDDEN} summary ${KEPT}`,
    });
  });
  afterAll(async () => t.cleanup());

  /** The errors a strict XML 1.0 parser reports for `xml` (none: well-formed). */
  function xmlErrors(xml: string): string[] {
    const errors: string[] = [];
    const p = new SaxesParser();
    p.on('error', (e) => errors.push(e.message));
    p.write(xml).close();
    return errors;
  }

  test('the parser used here does refuse each forbidden character (the check can fail)', () => {
    for (const c of ['\uFFFE', '\uFFFF', '\uDC00', '\u0001', '\u001F'])
      expect(xmlErrors(`<a>${c}</a>`)).not.toEqual([]);
  });

  test('xmlSafe drops exactly the characters XML 1.0 forbids', () => {
    expect(xmlSafe(`a${FORBIDDEN}b`)).toBe('axb');
    expect(xmlSafe(KEPT)).toBe(KEPT);
    expect(xmlSafe('\uD83D\uDE00')).toBe('😀');
  });

  test.each(['/feed.atom', '/documents/odd/feed.atom'])(
    '%s is well-formed XML with forbidden characters in a title and a summary',
    async (url) => {
      const res = await request(t.app).get(url).expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/atom\+xml/);
      expect(xmlErrors(res.text)).toEqual([]);
      expect(res.text).toContain('Odd x title');
      expect(res.text).toContain('Odd x summary tab\there, line\nbreak, é, 😀 &amp; &lt;b&gt;');
    },
  );
});
