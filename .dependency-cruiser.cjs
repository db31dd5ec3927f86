// The folder order of src/, enforced by `npm run lint` (dependency-cruiser).
// Tiers, lowest first: a module may import its own folder, the folders of
// its own tier listed together as one group, and any lower tier; never a
// higher tier, nor a sibling folder of its tier. README.md ("Folders") says
// what each folder holds.
const TIERS = [
  ['features'], //                           pure feature semantics: no I/O, no packages
  ['config.ts|settings.ts|errors.ts|lifecycle.ts|observability'], // the base every layer may use
  ['contracts'], //                          formats that cross process boundaries
  ['access', 'stores'], //                   access rules; Redis and MongoDB behind contracts
  ['ingest'], //                             Kafka → online state (processor, retry, replay, recovery)
  ['graphql', 'sync'], //                    the schema's resolvers; Redis → MongoDB write-behind
  ['live'], //                               feature updates → subscribers
  ['api', 'collector', 'demo', 'dev'], //    servers: HTTP/graphql-ws, the event collector, demo, embedded mode
  ['roles'], //                              wiring: what starts, in order, and how it stops
  ['main.ts'], //                            the entry point
];

const path = (folder) => `^src/(${folder})(/|$)`;
const any = (folders) => `^src/(${folders.join('|')})(/|$)`;

const layering = TIERS.flatMap((tier, i) => {
  const higher = TIERS.slice(i + 1).flat();
  return tier.flatMap((folder) => {
    const siblings = tier.filter((f) => f !== folder);
    return [
      ...(higher.length > 0
        ? [{ name: `layer-${folder.split('|')[0].replace('.ts', '')}-up`, comment: `${folder} imports a higher tier (${higher.join(', ')})`, severity: 'error', from: { path: path(folder) }, to: { path: any(higher) } }]
        : []),
      ...(siblings.length > 0
        ? [{ name: `layer-${folder}-sideways`, comment: `${folder} imports a sibling of its tier (${siblings.join(', ')})`, severity: 'error', from: { path: path(folder) }, to: { path: any(siblings) } }]
        : []),
    ];
  });
});

module.exports = {
  forbidden: [
    ...layering,
    {
      name: 'features-pure',
      comment: 'src/features is pure: no packages, no Node built-ins, nothing else of src',
      severity: 'error',
      from: { path: '^src/features/' },
      to: { pathNot: '^src/features/' },
    },
    {
      name: 'resolvers-one-per-type',
      comment: 'a resolver file does not import another type\'s resolvers: shared checks live beside them (graphql/guards.ts, graphql/parents.ts)',
      severity: 'error',
      from: { path: '^src/graphql/resolvers/(?!index\\.ts$)' },
      to: { path: '^src/graphql/resolvers/' },
    },
    {
      name: 'no-generated-by-hand',
      comment: 'only the GraphQL layer uses the generated resolver types',
      severity: 'error',
      from: { pathNot: '^src/graphql/' },
      to: { path: '^src/graphql/__generated__/' },
    },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    { name: 'not-to-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
