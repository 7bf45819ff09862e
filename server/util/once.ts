/**
 * `fn` run at the first call only: every later call gets the first call's promise. For what lets
 * go of something (a close, a release): a file number or a lock given back once may by the second
 * call be another's, and closing it again would close theirs.
 */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | null = null;
  return () => (result ??= fn());
}
