import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/**
 * What is at DATA_DIR: nothing (`missing`), an empty folder (`empty`; a file system's own
 * `lost+found` does not count), a Ratify data folder (`data`: a git repository in `git/` and a
 * metadata store in `meta/`), a file (`file`), or a folder holding something else (`other`).
 * The server makes and seeds a data folder where there is none; the admin CLI never does
 * (only its `init` command), so that a mistyped or forgotten DATA_DIR is said, not filled.
 */
export type DataFolderState = 'missing' | 'empty' | 'data' | 'file' | 'other';

export async function dataFolderState(dir: string): Promise<DataFolderState> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'file';
    throw e;
  }
  if (names.every((n) => n === 'lost+found')) return 'empty';
  const [head, meta] = await Promise.all([
    fsp.stat(path.join(dir, 'git', 'HEAD')).catch(() => null),
    fsp.stat(path.join(dir, 'meta')).catch(() => null),
  ]);
  return head?.isFile() && meta?.isDirectory() ? 'data' : 'other';
}

/** DATA_DIR is no data folder, and whoever opens it was told not to make one. */
export class NoDataFolderError extends Error {
  readonly code: 'no_data_folder' | 'not_a_data_folder';
  constructor(
    readonly dir: string,
    readonly state: Exclude<DataFolderState, 'data'>,
  ) {
    super(
      state === 'missing'
        ? `There is no data folder at ${dir}.`
        : state === 'empty'
          ? `The data folder ${dir} is empty.`
          : state === 'file'
            ? `${dir} is a file, not a data folder.`
            : `${dir} is not a Ratify data folder (it has no git/ and meta/).`,
    );
    this.code = state === 'missing' || state === 'empty' ? 'no_data_folder' : 'not_a_data_folder';
  }
}
