// eau2's layer rules (docs/architecture.md "The rules"), checked by `npm run lint` and so by
// `npm test` and CI. The layers, bottom to top:
//
//   kv/         the shared contract (KvStore, Eau2Error/ErrorCode, bytes, partitionOf): imports no layer
//   engine/     the embedded engine: imports kv/ only
//   cluster/    nodes, replication, client: imports kv/ and engine/, never dataframe/
//   dataframe/  frames and queries over any KvStore: imports kv/ only
//   app/        the eau2 command, node start-up, demo apps: may import every layer
//
// A layer is imported by another only through its index.ts (engine/ has a second public index,
// engine/level/index.ts, for `eau2/level`): what lies behind it is internal. test/ and bench/ are
// exempt from the index rule: they test and measure internals. A rule that must be broken gets a
// narrow exception below, with its reason, rather than a wider rule.

const LAYERS = '^(kv|engine|cluster|dataframe|app)/';
const INDEXES = ['^(kv|engine|cluster|dataframe)/index\\.ts$', '^engine/level/index\\.ts$'];
// See the rule no-circular-dataframe-core.
const DATAFRAME_CORE = '^dataframe/(dataframe|lazy-frame|query/query|query/merge)\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'An import cycle makes modules load half-initialised and ties files that should be separable; ' +
        'break it with a narrow interface owned by the lower file (as RouterHost and MetricsSource do).',
      from: { pathNot: DATAFRAME_CORE },
      to: { circular: true },
    },
    {
      name: 'no-circular-dataframe-core',
      severity: 'error',
      comment:
        'The one allowed cycle: DataFrame, LazyFrame, Query and the merge of partial results refer to each ' +
        'other at run time (DataFrame.get returns a LazyFrame, a LazyFrame loads into a DataFrame, both ' +
        'build Queries, a query merges into a DataFrame). Breaking it means moving the storage statics off ' +
        'DataFrame, a public API change; any cycle through another file is still an error.',
      from: { path: DATAFRAME_CORE },
      to: { circular: true, via: { pathNot: DATAFRAME_CORE } },
    },
    {
      name: 'kv-imports-no-layer',
      severity: 'error',
      comment: 'kv/ is the contract under every layer; it cannot depend on any of them.',
      from: { path: '^kv/' },
      to: { path: '^(engine|cluster|dataframe|app)/' },
    },
    {
      name: 'engine-imports-only-kv',
      severity: 'error',
      comment: 'The engine is usable on its own: one directory, no network, no dataframes.',
      from: { path: '^engine/' },
      to: { path: '^(cluster|dataframe|app)/' },
    },
    {
      name: 'cluster-never-imports-dataframe',
      severity: 'error',
      comment:
        'The cluster serves any KvStore user; the dataframe tasks and /df routes are wired into a node by app/.',
      from: { path: '^cluster/' },
      to: { path: '^(dataframe|app)/' },
    },
    {
      name: 'dataframe-imports-only-kv',
      severity: 'error',
      comment:
        'The dataframe layer never knows whether it talks to an embedded engine or a cluster: it sees a ' +
        'KvStore and the optional capabilities kv/ declares.',
      from: { path: '^dataframe/' },
      to: { path: '^(engine|cluster|app)/' },
    },
    {
      name: 'only-through-index',
      severity: 'error',
      comment:
        "Another layer's files are its internals: import the layer through its index.ts (test/ and bench/ " +
        'may reach internals).',
      from: { path: LAYERS },
      to: { path: '^(kv|engine|cluster|dataframe)/', pathNot: ['^$1/', ...INDEXES] },
    },
    {
      name: 'no-test-or-bench-in-product',
      severity: 'error',
      comment: 'Product code must not depend on test helpers or benchmarks.',
      from: { path: LAYERS },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-dev-deps-in-product',
      severity: 'error',
      comment: 'devDependencies are not installed with the package; product code may use only dependencies.',
      from: { path: LAYERS },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    // Type-only imports count: a layer that names another layer's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.js', '.cjs', '.mjs', '.d.ts'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
