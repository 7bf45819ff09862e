/**
 * `GitRepository.resolve` reads a loose ref file, else packed-refs parsed once per version of the
 * file. Against isomorphic-git's `resolveRef` (which parses packed-refs on every call) as the
 * model: random sequences of ref moves, creations and deletions, packings of the refs (ours, and
 * stock git's `pack-refs` from outside), and symbolic refs — after each step every ref of the pool
 * resolves to what the model says, whether it is loose, packed, both, or gone.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import isogit from 'isomorphic-git';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { GitRepository } from '../../server/store/git/repository.js';
import { git, tmp } from './gitHelpers.js';
import { runs } from '../helpers/depth.js';

describe('store/refResolve.property', () => {
  const MAIN = 'refs/heads/main';
  const REFS = ['refs/ratify/proposals/1', 'refs/ratify/proposals/2', 'refs/tags/tor/v1', 'refs/heads/other'];

  const op = fc.oneof(
    fc.record({ op: fc.constant('move' as const), ref: fc.constantFrom(...REFS), to: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ op: fc.constant('delete' as const), ref: fc.constantFrom(...REFS) }),
    fc.record({ op: fc.constant('packRefs' as const) }),
    fc.record({ op: fc.constant('stockPackRefs' as const) }),
    fc.record({ op: fc.constant('symbolic' as const), ref: fc.constantFrom(...REFS) }),
  );

  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  describe('resolving refs', () => {
    test('resolve gives what isomorphic-git gives, through moves, deletions and packings', async () => {
      // Stock git packs the refs from outside too where it is installed (CI has it).
      const stockGit = (await git('.', ['--version'])).code === 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), async (ops) => {
          dir = await tmp('ratify-refs-');
          const gitdir = path.join(dir, 'git');
          const repo = await GitRepository.open(gitdir, { packEvery: null });
          try {
            const at = new Date('2026-03-01T09:30:00Z');
            const commits: string[] = [];
            let head: string | null = null;
            for (let i = 0; i < 3; i++) {
              const author = { name: 'A', email: 'a@example.org', at };
              const made: { commit: string } = await repo.commitFile({
                ...{ ref: MAIN, expected: head, parent: head, filepath: 'x.md', text: `v${i}\n` },
                ...{ message: `c${i}`, author },
              });
              head = made.commit;
              commits.push(head);
            }
            const check = async () => {
              for (const ref of [MAIN, 'HEAD', ...REFS, 'refs/heads/sym', 'refs/ratify/none']) {
                const want = await isogit.resolveRef({ fs, gitdir, ref }).catch(() => null);
                expect({ ref, got: await repo.resolve(ref) }).toEqual({ ref, got: want });
              }
              // Listing refs under a prefix, from the kept packed-refs and the loose files.
              for (const prefix of ['refs/heads', 'refs/ratify', 'refs/ratify/proposals', 'refs/tags', 'refs/none']) {
                const want = (await isogit.listRefs({ fs, gitdir, filepath: prefix }))
                  .map((n) => `${prefix}/${n}`)
                  .sort();
                expect({ prefix, got: await repo.listRefs(prefix) }).toEqual({ prefix, got: want });
              }
              expect(await repo.listTags()).toEqual((await isogit.listTags({ fs, gitdir })).sort());
              expect(await repo.listBranches()).toEqual((await isogit.listBranches({ fs, gitdir })).sort());
            };
            for (const o of ops) {
              if (o.op === 'move') await repo.moveRef(o.ref, await repo.resolve(o.ref), commits[o.to]);
              else if (o.op === 'delete') {
                const now = await repo.resolve(o.ref);
                if (now) await repo.deleteRef(o.ref, now);
              } else if (o.op === 'packRefs') await repo.packRefs();
              else if (o.op === 'stockPackRefs') {
                if (stockGit) expect((await git(gitdir, ['pack-refs', '--all'])).code).toBe(0);
              } else await fsp.writeFile(path.join(gitdir, 'refs', 'heads', 'sym'), `ref: ${o.ref}\n`);
              await check();
            }
          } finally {
            await repo.close();
            await fsp.rm(dir, { recursive: true, force: true });
            dir = undefined;
          }
        }),
        runs(20),
      );
      // Each run makes a repository with real fsyncs (and stock git where there is one): slow on a loaded CI host.
    }, 180_000);
  });
});
