/**
 * A copy of a generated data folder for a server to run on, made of hard links, which costs no
 * disk and no time whatever the folder's size (the thirty-year folder is tens of GB: a byte copy
 * took minutes and twice the space). The server replaces a file it changes (a new file, then a
 * rename) except for two kinds, which are copied byte for byte so that the cached folder stays as
 * generated: the journal's last segment (appended to, and cut back at start after a crash) and
 * the cold files (appended to and cut back to the snapshot's mark at start).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** Files the server writes in place, relative to the data folder: each is copied, not linked. */
async function writtenInPlace(dataDir: string): Promise<Set<string>> {
  const out = new Set<string>();
  const segments = (await fsp.readdir(path.join(dataDir, 'meta', 'journal')).catch(() => [] as string[])).sort();
  if (segments.length) out.add(path.join('meta', 'journal', segments[segments.length - 1]));
  for (const f of await fsp.readdir(path.join(dataDir, 'meta', 'cold')).catch(() => [] as string[]))
    out.add(path.join('meta', 'cold', f));
  return out;
}

export async function linkCopy(dataDir: string, to: string): Promise<void> {
  const copied = await writtenInPlace(dataDir);
  const walk = async (rel: string): Promise<void> => {
    const from = path.join(dataDir, rel);
    const stat = await fsp.lstat(from);
    const dest = path.join(to, rel);
    if (stat.isDirectory()) {
      await fsp.mkdir(dest, { mode: stat.mode & 0o777 });
      for (const name of await fsp.readdir(from)) await walk(path.join(rel, name));
    } else if (stat.isSymbolicLink()) await fsp.symlink(await fsp.readlink(from), dest);
    else if (copied.has(rel)) await fsp.copyFile(from, dest);
    else await fsp.link(from, dest);
  };
  await walk('');
}
