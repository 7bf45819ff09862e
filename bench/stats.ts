import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** Order statistics of a sample of durations (ms). Percentiles by nearest rank. */
export interface Stats {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

export function stats(sample: number[]): Stats {
  if (!sample.length) return { n: 0, median: NaN, p95: NaN, min: NaN, max: NaN };
  const s = [...sample].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  const mid = s.length >> 1;
  return {
    n: s.length,
    median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2,
    p95: rank(0.95),
    min: s[0],
    max: s[s.length - 1],
  };
}

/** A duration for a table: 3 significant figures, never scientific notation. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Apparent size and file count of a folder tree. */
export async function dirSize(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const sub = await dirSize(p);
      bytes += sub.bytes;
      files += sub.files;
    } else if (e.isFile()) {
      bytes += (await fsp.stat(p)).size;
      files++;
    }
  }
  return { bytes, files };
}

/** Space taken on disk (blocks), as `du -sk` reports it. */
export function diskUsage(dir: string): number {
  const r = spawnSync('du', ['-sk', dir], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.split(/\s/)[0]) * 1024 : NaN;
}

/** A markdown table. */
export function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

const TICK_MS = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const hz = Number(r.stdout?.trim());
  return 1000 / (Number.isFinite(hz) && hz > 0 ? hz : 100);
})();

/** CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat. */
export function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** CPU time (ms) this process uses while running `f`. */
export function cpuOf<T>(f: () => T): { value: T; cpuMs: number } {
  const c = process.cpuUsage();
  const value = f();
  const d = process.cpuUsage(c);
  return { value, cpuMs: (d.user + d.system) / 1000 };
}

/** CPU time (user + system, ms) of `runs` runs of a command, from bash's `times` (children). */
export function childCpuMs(cmd: string[], runs: number): number {
  const script = `for i in $(seq ${runs}); do "$@" >/dev/null 2>&1; done; times`;
  const r = spawnSync('bash', ['-c', script, 'bench', ...cmd], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n')[1] ?? '';
  const secs = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return secs.length === 2 ? ((secs[0] + secs[1]) * 1000) / runs : NaN;
}

/** Busy and total CPU time of the whole machine so far (all cores, ms), from /proc/stat. */
export function machineCpuMs(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  // idle, iowait and steal (time the hypervisor gave to other guests) are not work done here
  return { busy: (total - f[3] - f[4] - f[7]) * TICK_MS, total: total * TICK_MS };
}

/** CPU time (ms) of this process and of its children that have been waited for (exited). */
export function ownCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS;
}

/**
 * How fast the shared machine is at this moment: one fixed piece of CPU work (20,000 small
 * records to JSON and back, and a SHA-256 of the JSON), median of 5, in ms. The same work timed
 * before and after a part of the bench, and in other runs, tells a slow host from a slow server
 * (on this shared machine the server CPU a published page cost went from 0.43 to 0.62 ms a
 * request within 40 minutes, same build, 2026-12-05).
 */
export function cpuCalibrationMs(): number {
  const records = Array.from({ length: 20_000 }, (_, i) => ({
    id: i,
    subject: `Proposal ${i}: a clearer rule`,
    to: [`member${i % 200}@example.org`],
    at: new Date(1_700_000_000_000 + i * 60_000).toISOString(),
  }));
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    const json = JSON.stringify(records);
    if ((JSON.parse(json) as unknown[]).length !== records.length) throw new Error('calibration');
    createHash('sha256').update(json).digest();
    times.push(performance.now() - t);
  }
  return stats(times).median;
}
