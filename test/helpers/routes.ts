/** The routes an express 5 app declares, for the tests that sweep every route. */

export interface RouteInfo {
  method: string;
  path: string;
}

/** Walk the app's router (express 5: `app.router`), descending into mounted routers. */
export function enumerateRoutes(stack: unknown[], prefix = ''): RouteInfo[] {
  const out: RouteInfo[] = [];
  for (const layer of stack as {
    route?: { path: string | string[]; methods: Record<string, boolean> };
    handle?: { stack?: unknown[]; router?: { stack?: unknown[] } };
    rawPath?: unknown;
  }[]) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const p of paths) {
        if (typeof p !== 'string') throw new Error(`route path that is not a string: ${String(p)}`);
        for (const [m, on] of Object.entries(layer.route.methods))
          if (on) out.push({ method: m.toUpperCase(), path: prefix + p });
      }
    } else if (layer.handle && (Array.isArray(layer.handle.stack) || Array.isArray(layer.handle.router?.stack))) {
      // A router, or a page router entered by its paths only (server/http/routeScope.ts).
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      out.push(...enumerateRoutes((layer.handle.stack ?? layer.handle.router?.stack)!, prefix + mount));
    }
  }
  return out;
}

/** Every route of an app. */
export const routesOf = (app: unknown) => enumerateRoutes((app as { router: { stack: unknown[] } }).router.stack);
