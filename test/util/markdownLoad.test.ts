/**
 * The markdown renderer's packages are loaded apart from its module (server/util/markdown.ts):
 * by `loadMarkdown` (the server, once its port is open), or at once by the first render before
 * that (a CLI command, a test). Either way the renderer is the same.
 */
import { describe, expect, test } from '@jest/globals';
import { loadMarkdown, markdownLoaded, renderMarkdown } from '../../server/util/markdown.js';

describe('util/markdownLoad', () => {
  test('a render before loadMarkdown loads the packages itself; loadMarkdown after it keeps that renderer', async () => {
    expect(markdownLoaded()).toBe(false);
    const before = renderMarkdown('*a* <script>alert(1)</script> [x](javascript:alert(1))');
    expect(markdownLoaded()).toBe(true);
    expect(before).toBe('<p><em>a</em> &lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(1))</p>\n');
    await loadMarkdown();
    expect(renderMarkdown('*a* <script>alert(1)</script> [x](javascript:alert(1))')).toBe(before);
  });
});
