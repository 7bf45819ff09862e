/** Document and group slugs: lowercase letters, digits and dashes, starting with a letter or digit. */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

export const isSlug = (s: unknown): s is string => typeof s === 'string' && SLUG_PATTERN.test(s);

/** The path of a document's text in the repository tree. */
export const documentPath = (slug: string): string => `documents/${slug}.md`;

/** The tag that marks a published version. */
export const versionTag = (slug: string, n: number): string => `${slug}/v${n}`;

/** Whether a tag name is a version's (`<slug>/v<N>`): the only tags the public repository holds. */
export const isVersionTag = (name: string): boolean => {
  const m = /^([^/]+)\/v([1-9]\d*)$/.exec(name);
  return !!m && isSlug(m[1]);
};
