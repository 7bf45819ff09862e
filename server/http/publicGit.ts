import express, { type Router } from 'express';
import * as path from 'node:path';
import { notFound } from '../domain/errors.js';

/**
 * The files git's "dumb" HTTP protocol reads, with the types `git http-backend` gives them.
 * Nothing else in the folder is served (no config, no temporary files, no listings).
 */
const FILES: [RegExp, string][] = [
  [/^\/HEAD$/, 'text/plain'],
  [/^\/info\/refs$/, 'text/plain'],
  [/^\/objects\/info\/packs$/, 'text/plain; charset=utf-8'],
  [/^\/objects\/[0-9a-f]{2}\/[0-9a-f]{38}$/, 'application/x-git-loose-object'],
  [/^\/objects\/pack\/pack-[0-9a-f]{40}\.pack$/, 'application/x-git-packed-objects'],
  [/^\/objects\/pack\/pack-[0-9a-f]{40}\.idx$/, 'application/x-git-packed-objects-toc'],
];

/**
 * `/git/public.git/…`: the public repository's folder, read-only (GET and HEAD), so that
 * `git clone <site>/git/public.git` works with stock git. Cache-Control comes from the one
 * table (http/caching.ts): objects and packs are immutable, the refs are revalidated.
 */
export function publicGit(folder: string): Router {
  const router = express.Router();
  router.use((req, res, next) => {
    const file = FILES.find(([re]) => re.test(req.path));
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD'))
      return next(notFound('no_such_file', `There is no file ${req.path} in the public repository.`));
    res.setHeader('Content-Type', file[1]);
    res.sendFile(path.join(folder, req.path), { cacheControl: false, dotfiles: 'deny' }, (err) => {
      if (!err || res.headersSent) return;
      res.removeHeader('Content-Type');
      next(notFound('no_such_file', `There is no file ${req.path} in the public repository.`));
    });
  });
  return router;
}
