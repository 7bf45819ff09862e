import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { renderedDiff, type RenderedDiffBlock } from '../../server/http/render/renderedDiff.js';
import { renderWithFrontMatter } from '../../server/util/documentHtml.js';
import { runs } from '../helpers/depth.js';

describe('http/renderedDiff', () => {
  const all = (blocks: RenderedDiffBlock[]) => blocks.map((b) => b.html).join('\n');
  /**
   * The reference: two texts a reader cannot tell apart render to the same HTML. (Trimming is not
   * a model of that: leading spaces make a first line code, and inside a fence left open trailing
   * blank lines are part of the code.)
   */
  const renderAlike = (a: string, b: string) => renderWithFrontMatter(a) === renderWithFrontMatter(b);
  const changed = (blocks: RenderedDiffBlock[]) =>
    blocks
      .filter((b) => b.kind === 'changed')
      .map((b) => b.html)
      .join('\n');

  const BLOCK = /^(p|h[1-6]|ul|ol|li|blockquote|table|thead|tbody|tr|td|th|pre|hr)$/;
  const NO_TEXT_INSIDE = /^(ul|ol|table|thead|tbody|tr)$/;
  const VOID = /^(br|hr|img)$/;

  /**
   * Structural checks of diff HTML: tags balanced; <ins>/<del> never hold a block, never nest in
   * each other, and never sit (nor does text) directly in a list, table or row.
   */
  function expectValid(html: string): void {
    const stack: string[] = [];
    for (const m of html.matchAll(/<(\/?)([a-z][a-z0-9]*)\b[^>]*>|[^<]+/g)) {
      const parent = stack[stack.length - 1];
      if (!m[2]) {
        if (m[0].trim() && parent && NO_TEXT_INSIDE.test(parent))
          throw new Error(`text directly in <${parent}>: ${m[0]}`);
        continue;
      }
      const [, slash, tag] = m;
      if (slash) {
        if (stack.pop() !== tag) throw new Error(`</${tag}> closes <${parent}> in ${html}`);
        continue;
      }
      if (parent && NO_TEXT_INSIDE.test(parent) && !/^(li|thead|tbody|tr|td|th)$/.test(tag))
        throw new Error(`<${tag}> directly in <${parent}>: ${html}`);
      if (BLOCK.test(tag) && stack.some((t) => t === 'ins' || t === 'del'))
        throw new Error(`<${tag}> inside <${stack.filter((t) => t === 'ins' || t === 'del')[0]}>: ${html}`);
      if ((tag === 'ins' || tag === 'del') && stack.some((t) => t === 'ins' || t === 'del'))
        throw new Error(`nested ins/del: ${html}`);
      if (!VOID.test(tag) && !m[0].endsWith('/>')) stack.push(tag);
    }
    expect(stack).toEqual([]);
  }

  describe('renderedDiff', () => {
    test('an added bold phrase: <strong> kept inside <ins>, the paragraph not replaced', () => {
      const d = renderedDiff('Members meet monthly.\n', 'Members meet monthly, **in public**.\n', 0);
      expect(all(d)).toMatch(/<p>Members meet monthly<ins>, <strong>in public<\/strong><\/ins>\.<\/p>/);
      expect(all(d)).not.toContain('<del>');
      expectValid(all(d));
    });

    test('a word changed inside bold text stays bold on both sides', () => {
      const d = all(renderedDiff('A **Standards Track EIP** is good.\n', 'A **Meta EIP** is good.\n', 0));
      expect(d).toContain('<strong><del>Standards Track</del><ins>Meta</ins> EIP</strong>');
      expectValid(d);
    });

    test('links stay links; a changed address shows the old link deleted and the new inserted', () => {
      const d = all(
        renderedDiff(
          'See [the formal specification](https://a.example/spec) now.\n',
          'See [the full specification](https://a.example/spec) now.\n\nAnd [home](https://b.example/).\n',
          0,
        ),
      );
      expect(d).toContain('<a href="https://a.example/spec">the <del>formal</del><ins>full</ins> specification</a>');
      expect(d).toContain('<p class="ins"><ins>And <a href="https://b.example/">home</a>.</ins></p>');
      const moved = all(renderedDiff('Read [it](https://old.example/).\n', 'Read [it](https://new.example/).\n', 0));
      expect(moved).toContain(
        '<del><a href="https://old.example/">it</a></del><ins><a href="https://new.example/">it</a></ins>',
      );
      expectValid(d);
      expectValid(moved);
    });

    test('list items stay items: an inserted item is a marked <li>, a changed one is diffed inside', () => {
      const d = all(renderedDiff('- one\n- two\n- three\n', '- one\n- two and a half\n- three\n- four\n', 0));
      expect(d).toContain('<li>one</li>');
      expect(d).toContain('<li>\ntwo<ins> and a half</ins>\n</li>');
      expect(d).toContain('<li class="ins"><ins>four</ins></li>');
      expectValid(d);
    });

    test('headings and table cells are compared word by word', () => {
      const d = all(
        renderedDiff(
          '## 3. Membership\n\n| who | votes |\n|---|---|\n| chair | one |\n',
          '## 3. Members\n\n| who | votes |\n|---|---|\n| chair | two |\n| clerk | none |\n',
          1,
        ),
      );
      // A text whose highest heading is "##" has it right under the page's h1 (by 1): no level skipped.
      expect(d).toContain('<h2>3. <del>Membership</del><ins>Members</ins></h2>');
      expect(d).toMatch(/<td>chair<\/td>\s*<td><del>one<\/del><ins>two<\/ins><\/td>/);
      expect(d).toMatch(/<tr class="ins">\s*<td class="ins"><ins>clerk<\/ins><\/td>/);
      expectValid(d);
    });

    test('front matter is compared as a table, not as a rule and a heading', () => {
      const d = all(
        renderedDiff('---\neip: 1\nstatus: Draft\n---\n\nText.\n', '---\neip: 1\nstatus: Living\n---\n\nText.\n', 1),
      );
      expect(d).toMatch(/<th>status<\/th>\s*<td><del>Draft<\/del><ins>Living<\/ins><\/td>/);
      expect(d).not.toMatch(/<hr|<h\d/);
      expectValid(d);
    });

    test('unchanged stretches are folded and name the section they belong to', () => {
      const paras = (n: number, w: string) => Array.from({ length: n }, (_, k) => `${w} paragraph ${k}.\n\n`).join('');
      const from = `# Rules\n\n## 1. Scope\n\n${paras(3, 'Scope')}## 3. Membership\n\n${paras(26, 'Member')}Last words.\n`;
      const to = from.replace('Last words.', 'Final words.');
      const d = renderedDiff(from, to, 0);
      expect(d.map((b) => b.kind)).toEqual(['unchanged', 'changed']);
      const fold = d[0] as Extract<RenderedDiffBlock, { kind: 'unchanged' }>;
      expect(fold.paragraphs).toBe(29); // headings are not counted
      expect(fold.section).toBe('Rules');
      expect(fold.lastSection).toBe('3. Membership');
      const mid = renderedDiff(from, from.replace('Member paragraph 3.', 'Member paragraph three.'), 0);
      const after = mid[2] as Extract<RenderedDiffBlock, { kind: 'unchanged' }>;
      expect(after.section).toBe('3. Membership');
      expect(after.paragraphs).toBe(23);
    });

    test('a deleted code block and a rule are marked as blocks', () => {
      const d = all(renderedDiff('Text.\n\n```\nx < 1\n```\n\n---\n', 'Text.\n', 0));
      expect(d).toContain('<pre tabindex="0" class="del"><del><code>x &lt; 1\n</code></del></pre>');
      expect(d).toContain('<hr class="del" />');
      expectValid(d);
    });

    test('stays safe: nothing active from either text', () => {
      const bad =
        '<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n<a href="javascript:x">y</a>';
      const d = all(renderedDiff('Safe.\n', `Safe.\n\n${bad}\n`, 0)) + all(renderedDiff(`${bad}\n`, 'Safe.\n', 0));
      expect(d).not.toMatch(/<script|<[^>]*(javascript:|onerror=)|<img/i);
      expectValid(d);
    });

    test('identical texts are one folded block; empty texts none', () => {
      expect(renderedDiff('A.\n\nB.\n', 'A.\n\nB.\n', 0)).toEqual([
        { kind: 'unchanged', html: '<p>A.</p>\n<p>B.</p>', paragraphs: 2, section: null, lastSection: null },
      ]);
      expect(renderedDiff('', '', 0)).toEqual([]);
    });

    test('any small markdown texts give valid, balanced HTML', () => {
      const piece = fc.constantFrom(
        'word',
        'other',
        '**bold**',
        '*em*',
        '`code`',
        '[link](https://x.example/)',
        '&',
        '<b>',
        '\n',
        '\n\n',
        '\n- ',
        '\n1. ',
        '\n## ',
        '\n> ',
        '\n| a | b |\n|---|---|\n| c | d |\n',
        '\n```\n',
        '  ',
      );
      const md = fc.array(piece, { maxLength: 30 }).map((ps) => ps.join(' '));
      fc.assert(
        fc.property(md, md, (a, b) => {
          const d = renderedDiff(a, b, 0);
          expectValid(all(d));
          // A change is shown exactly when the texts render differently.
          expect(changed(d) === '').toBe(renderAlike(a, b));
        }),
        // Found by runs: the same text once trimmed, but an indented first line is code in one; and
        // a fence left open, whose code holds the trailing blank lines of one text only.
        {
          ...runs(400),
          examples: [
            ['\n\n    <b>', '<b>'],
            ['\n```\n', '\n```\n \n\n'],
          ],
        },
      );
    });
  });
});
