/**
 * A small subgraph standing for the legacy monolith: it owns
 * `User { id username email createdAt }`. Users are made up from their id
 * (`u1` → `user1`), so any id resolves, as in a large legacy table.
 *
 *   node --import tsx examples/legacy-users/server.ts [port]
 */
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

export const LEGACY_USERS_SDL = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

interface LegacyUser {
  id: string;
  username: string;
  email: string;
  createdAt: string;
}

export function legacyUser(id: string): LegacyUser {
  const name = `user${id.replace(/^u/, '')}`;
  return { id, username: name, email: `${name}@example.com`, createdAt: new Date(Date.UTC(2020, 0, 1)).toISOString() };
}

/** Listens on loopback unless told otherwise (a container's network, in the compose stack). */
export async function startLegacyUsers(port = 0, host = '127.0.0.1'): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = new ApolloServer({
    schema: buildSubgraphSchema({
      typeDefs: parse(LEGACY_USERS_SDL),
      resolvers: {
        Query: {
          user: (_: unknown, { id }: { id: string }) => legacyUser(id),
          users: (_: unknown, { first }: { first: number }) => Array.from({ length: Math.min(first, 100) }, (_, i) => legacyUser(`u${i + 1}`)),
        },
        User: { __resolveReference: ({ id }: { id: string }) => legacyUser(id) },
      },
    }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { host, port } });
  return { url, stop: () => server.stop() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // examples/legacy-users/server.ts [port, default 4002] [host, default 127.0.0.1]
  const { url } = await startLegacyUsers(Number(process.argv[2] ?? 4002), process.argv[3]);
  process.stdout.write(`legacy users subgraph: ${url}\n`);
}
