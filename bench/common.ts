/** What every measure of the bench shares: where things are, the log, and what to clean up at the end. */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// BENCH_CORPUS only to try the bench without the corpus (e.g. BENCH_CORPUS=/nonexistent).
export const corpusDir = path.resolve(root, process.env.BENCH_CORPUS ?? '../shared/corpus');
export const documentsDir = path.join(root, 'documents');
export const reportFile = path.join(root, 'docs', 'BENCHMARKS.md');

export const CORPORA = [
  { slug: 'w3c', title: 'W3C Process Document', folder: 'w3c-process' },
  { slug: 'eip-1', title: 'EIP-1: EIP Purpose and Guidelines', folder: 'eip-1' },
] as const;

export const started = performance.now();
export const hasCorpus = CORPORA.every((c) => fs.existsSync(path.join(corpusDir, c.folder, 'versions')));
export const log = (s: string) =>
  console.log(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${s}`);
export const temps: string[] = [];
export const children = new Set<ChildProcess>();

export async function tempDir(prefix: string): Promise<string> {
  const d = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
}

export const load1 = () => os.loadavg()[0].toFixed(1);

/** What each measure adds to docs/BENCHMARKS.md: its sections, the targets it missed, its paragraph of notes. */
export interface Report {
  body: string[];
  misses: string[];
  notes: string[];
}
