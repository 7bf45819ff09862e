/**
 * The layers of server/ as checked rules (run with `npm run layers`, which is scripts/layers.mjs):
 *
 *   main → app → http | cli → services → store → domain       (util: anyone; nothing below imports above)
 *
 * TypeScript 7 ships no JavaScript API, so imports are read with swc, which cannot tell a type-only
 * import from a value import. Rules whose name ends in `-values` are therefore checked by
 * scripts/layers.mjs, which drops a violation when every import of that module in that file is
 * type-only (`import type …`, or every name marked `type`): such an import is erased at build and
 * is no dependency at run time. Run the plain `depcruise` CLI and those rules also flag type imports.
 */

/** Cycles that exist today (services that mail about rounds, and rounds that read consolidations).
 *  Allowed by path so that a new cycle fails; shrink this list, never grow it. */
const KNOWN_CYCLE = [
  '^server/services/rounds/rounds\\.ts$',
  '^server/services/rounds/decision\\.ts$',
  '^server/services/notifications/events\\.ts$',
  '^server/services/consolidations/consolidations\\.ts$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-imports-domain-only',
      severity: 'error',
      comment: 'server/domain is the pure core: it imports nothing from the other server folders (not even types).',
      from: { path: '^server/domain/' },
      to: { path: '^server/', pathNot: '^server/domain/' },
    },
    {
      name: 'domain-no-node-values',
      severity: 'error',
      comment: 'server/domain imports nothing of node at run time (type-only imports of node builtins are fine).',
      from: { path: '^server/domain/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'util-imports-util-only',
      severity: 'error',
      comment: 'server/util holds small helpers that know nothing of the layers.',
      from: { path: '^server/util/' },
      to: { path: '^server/', pathNot: '^server/util/' },
    },
    {
      name: 'store-imports-domain-and-util-only',
      severity: 'error',
      comment: 'server/store may import server/domain and server/util, nothing above it.',
      from: { path: '^server/store/' },
      to: { path: '^server/', pathNot: '^server/(store|domain|util)/' },
    },
    {
      name: 'services-import-below-only',
      severity: 'error',
      comment: 'server/services may import store, domain and util: never http, cli, app, main, bootstrap or config.',
      from: { path: '^server/services/' },
      to: { path: '^server/', pathNot: '^server/(services|store|domain|util)/' },
    },
    {
      name: 'http-imports-services-domain-util',
      severity: 'error',
      comment:
        'server/http may import services, domain and util (and store for types, see the next rule): never cli, app, main, bootstrap or config.',
      from: { path: '^server/http/' },
      to: { path: '^server/', pathNot: '^server/(http|services|domain|util|store)/' },
    },
    {
      name: 'http-no-store-values',
      severity: 'error',
      comment: 'server/http reaches the store through services: it may name store types, never call the store.',
      from: { path: '^server/http/' },
      to: { path: '^server/store/' },
    },
    {
      name: 'cli-not-http',
      severity: 'error',
      comment: 'server/cli may import services, store, domain, util (and bootstrap, config): never http, app or main.',
      from: { path: '^server/cli/' },
      to: { path: '^server/(http/|app\\.ts$|main\\.ts$)' },
    },
    {
      name: 'nobody-imports-main',
      severity: 'error',
      comment: 'server/main.ts is the entry point: nothing imports it.',
      from: {},
      to: { path: '^server/main\\.ts$' },
    },
    {
      name: 'not-to-test',
      severity: 'error',
      comment: 'Only tests import from test/.',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-bench',
      severity: 'error',
      comment: 'Only the benchmarks import from bench/.',
      from: { pathNot: '^bench/' },
      to: { path: '^bench/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, except the known one among KNOWN_CYCLE (a cycle that leaves that set fails).',
      from: {},
      // One string: dependency-cruiser does not join an array given under `via`.
      to: { circular: true, via: { pathNot: KNOWN_CYCLE.join('|') } },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to no file or package.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
    moduleSystems: ['es6', 'cjs'],
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
  },
};
