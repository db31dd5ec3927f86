/**
 * Composes the supergraph from this subgraph's schema/, the example legacy
 * users subgraph, and any extra subgraph SDL files, with
 * @theguild/federation-composition; fails on any composition error.
 *
 *   npm run compose -- [--activity URL] [--users URL] [--out FILE] [extra.graphql ...]
 *
 * Extra files compose under their base name at a placeholder URL: that is
 * enough to check that another team's schema composes with ours.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { composeServices } from '@theguild/federation-composition';
import { parse } from 'graphql';
import { LEGACY_USERS_SDL } from '../examples/legacy-users/server.js';
import { subgraphSdl } from '../src/graphql/schema.js';

export interface SubgraphSource {
  readonly name: string;
  readonly url: string;
  readonly sdl: string;
}

export class CompositionError extends Error {
  override readonly name = 'CompositionError';
}

export function composeSupergraph(subgraphs: readonly SubgraphSource[]): string {
  const result = composeServices(subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  if (result.errors?.length) throw new CompositionError(result.errors.map((e) => e.message).join('\n'));
  if (!result.supergraphSdl) throw new CompositionError('composition produced no supergraph');
  return result.supergraphSdl;
}

/** This service and the example legacy subgraph, at the given URLs. */
export const standardSubgraphs = (activityUrl: string, usersUrl: string): SubgraphSource[] => [
  { name: 'activity', url: activityUrl, sdl: subgraphSdl() },
  { name: 'users', url: usersUrl, sdl: LEGACY_USERS_SDL },
];

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    options: { activity: { type: 'string' }, users: { type: 'string' }, out: { type: 'string' } },
    allowPositionals: true,
  });
  const extra = positionals.map((file) => ({ name: basename(file).replace(/\.graphql$/, ''), url: 'http://127.0.0.1:1/graphql', sdl: readFileSync(file, 'utf8') }));
  try {
    const sdl = composeSupergraph([
      ...standardSubgraphs(values.activity ?? 'http://127.0.0.1:4001/graphql', values.users ?? 'http://127.0.0.1:4002/graphql'),
      ...extra,
    ]);
    if (values.out) writeFileSync(values.out, sdl);
    else process.stdout.write(sdl);
  } catch (error) {
    process.stderr.write(`composition failed:\n${(error as Error).message}\n`);
    process.exit(1);
  }
}
