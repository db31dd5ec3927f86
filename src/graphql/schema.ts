/** The subgraph schema: the SDL files in schema/ with the resolvers in ./resolvers. */
import { readdirSync, readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLSchema } from 'graphql';
import { parse } from 'graphql';
import { resolvers } from './resolvers/index.js';

/** The module shape buildSubgraphSchema takes; its resolver map is untyped. */
type SchemaModule = Extract<Parameters<typeof buildSubgraphSchema>[0], { typeDefs: unknown }>;

const SCHEMA_DIR = new URL('../../schema/', import.meta.url);

/** The SDL of this subgraph, all files of schema/ in name order. */
export function subgraphSdl(): string {
  return readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(new URL(f, SCHEMA_DIR), 'utf8'))
    .join('\n');
}

export function createSubgraphSchema(): GraphQLSchema {
  return buildSubgraphSchema({
    typeDefs: parse(subgraphSdl()),
    resolvers: resolvers as SchemaModule['resolvers'],
  });
}
