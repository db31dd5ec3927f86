/** A bare Apollo Server answering `{ __typename }`: the floor under any subgraph's request rate. */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const server = new ApolloServer({ typeDefs: 'type Query { ok: Boolean }', csrfPrevention: false });
const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
process.stdout.write(`GraphQL: ${url}\n`);
