/**
 * The "formatted · source" links above a diff: the same page with and without `view=source`,
 * the page's other query values kept (plain links, so the toggle works without JavaScript).
 */
export function diffToggle(
  path: string,
  query: Record<string, string | number | undefined>,
  /** The id of the diff's heading, so that a long page opens at the diff. */
  fragment?: string,
): { formatted: string; source: string } {
  const href = (view?: string) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...query, view })) if (v !== undefined && v !== '') q.set(k, String(v));
    const s = q.toString();
    return (s ? `${path}?${s}` : path) + (fragment ? `#${fragment}` : '');
  };
  return { formatted: href(), source: href('source') };
}
