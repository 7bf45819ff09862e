/**
 * When the build's files of the markdown renderer's packages cannot be loaded (here: markdown-it's
 * import throws), `loadMarkdown` loads the packages from node_modules instead, and the server's
 * requests, which wait for it, are served.
 */
import { describe, expect, jest, test } from '@jest/globals';

jest.unstable_mockModule('markdown-it', () => {
  throw new Error('EMFILE: too many open files');
});
const { loadMarkdown, markdownLoaded, renderMarkdown } = await import('../../server/util/markdown.js');

describe('util/markdownLoadFails', () => {
  test('a failed import of the packages falls back to node_modules; the renderer works', async () => {
    expect(markdownLoaded()).toBe(false);
    await loadMarkdown();
    expect(markdownLoaded()).toBe(true);
    expect(renderMarkdown('*a* <b>b</b>')).toBe('<p><em>a</em> &lt;b&gt;b&lt;/b&gt;</p>\n');
  });
});
