/**
 * What the process does with its memory once the data folder and the port are open, before the
 * records read after it (the waiting messages; server/main.ts). Both measured at ten years' and one year's volume in docs/DEPLOY.md
 * ("Memory") and by the bench's part 8.
 */

/** What `settleStartMemory` did, for the start-up's log line; null when node gave no `gc`. */
export type StartGc = { ms: number; rssMbBefore: number; rssMbAfter: number } | null;

/**
 * 1. glibc's malloc gives the free memory at the top of its heap back to the system once more
 *    than its trim threshold (128 KB to begin with) is free there, and asks for it again at the
 *    next allocation: every page asked for anew is a page fault. Serving large pages (the
 *    proposal page with 200 comments: ~124 KB of bytes a request) went round that cycle all the
 *    time: 17-36 page faults a request, and a third to a half of the page's throughput lost
 *    (docs/DEPLOY.md). When glibc frees a block it had mapped on its own (one of 128 KB or more),
 *    it raises its thresholds to that block's size, the trim threshold to twice that (mallopt(3),
 *    "dynamic mmap threshold", up to 32 MB). A block of 16 MB, allocated and dropped here and
 *    freed by the collection below, took the faults to 5-8 a request; one of 4 MB, as now, sets
 *    the trim threshold to 8 MB, which still keeps a churn of 6 MB at the top of the heap from
 *    faulting (test/cli/startMemory.test.ts). The threshold is the same for every thread's arena
 *    (V8's compiler and collector threads, libuv's): at 32 MB they kept 44-48 MB of freed memory
 *    resident at ten years' volume under reads, 14 MB at 8 MB (docs/DEPLOY.md, "Memory").
 *    With another C library the block is only allocated and freed.
 * 2. Opening the store leaves garbage: the snapshot's lines once parsed, the buffers the cold
 *    files' tables were read into (~22 MB of the ~215 MB resident after the start at ten years'
 *    volume). One full collection gives it back, and has V8 size its old generation from what
 *    is live. It runs once the port is open and before the waiting messages are read (main.ts):
 *    31 ms at thirty years' volume. Run after they were read, as until 2026-12-06, it took
 *    88-101 ms there, right after their last slice: the one delay over 100 ms of the start and
 *    the drain (bench part 8). Read after it, the messages' garbage goes with V8's own
 *    collections, which keep their pauses short.
 *    It needs `gc`, which node gives with `--expose-gc` (package.json's `start`).
 */
/** The block that sets glibc's thresholds: its mmap threshold to 4 MB, its trim threshold to 8 MB. */
const BLOCK = 4 << 20;

export function settleStartMemory(): StartGc {
  Buffer.allocUnsafeSlow(BLOCK).fill(0, 0, 1);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return null;
  const mb = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10;
  const before = process.memoryUsage.rss();
  const t0 = performance.now();
  // A full collection: node 20's `gc` does a scavenge when given options such as `{ type: 'major' }`.
  gc();
  return { ms: Math.round(performance.now() - t0), rssMbBefore: mb(before), rssMbAfter: mb(process.memoryUsage.rss()) };
}
