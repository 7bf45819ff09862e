import type { AddressInfo } from 'node:net';
import session from 'express-session';
import { createApp } from './app.js';
import { createAppServer } from './http/appServer.js';
import type { Config } from './config.js';
import type { Renderer } from './http/render/renderer.js';
import type { SitePage, SitePages } from './cli/exportSite.js';
import type { Ctx } from './services/context.js';

/**
 * The public pages as a signed-out reader gets them, for the static export (cli/exportSite.ts):
 * an app of its own over the same stores, whose BASE_URL is the export's (citations and feeds
 * name where the copy will be served), listening on a loopback port for as long as the export runs.
 */
export function sitePagesFor(config: Pick<Config, 'siteName'>, renderer?: Renderer) {
  return async (ctx: Ctx, baseUrl: string): Promise<SitePages> => {
    const app = createApp({
      ctx,
      config: { baseUrl, writeLimit: 0, siteName: config.siteName },
      sessions: { secret: 'static-export', store: new session.MemoryStore() },
      renderer,
    });
    const server = createAppServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
      async get(url: string): Promise<SitePage> {
        const res = await fetch(origin + url, { redirect: 'manual', headers: { 'accept-encoding': 'identity' } });
        return {
          status: res.status,
          type: res.headers.get('content-type') ?? '',
          location: res.headers.get('location') ?? undefined,
          body: Buffer.from(await res.arrayBuffer()),
        };
      },
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  };
}
