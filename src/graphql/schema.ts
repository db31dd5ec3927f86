/**
 * src/graphql: the subgraph: the schema (SDL in schema/), resolvers one file
 * per type, request-scoped DataLoaders, the access guards, coded errors, and
 * the policy both transports apply (policy.ts). It may import stores/,
 * access/, contracts/, features/ and the base modules.
 *
 * The subgraph schema: the SDL files in schema/ with the resolvers in ./resolvers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { badUserInput } from './errors.js';
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

export interface SubgraphSchemaOptions {
  /** `_entities` refuses more representations than this, with BAD_USER_INPUT. */
  readonly maxRepresentations: number;
}

export function createSubgraphSchema(options: SubgraphSchemaOptions): GraphQLSchema {
  const schema = buildSubgraphSchema({
    typeDefs: parse(subgraphSdl()),
    resolvers: resolvers as SchemaModule['resolvers'],
  });
  // The cap sits on the field itself, so it holds however the list is sent (variables or inline).
  const entities = schema.getQueryType()!.getFields()._entities!;
  const resolve = entities.resolve as GraphQLFieldResolver<unknown, unknown, { representations: unknown[] }>;
  entities.resolve = (source, args: { representations: unknown[] }, context, info) => {
    const count = args.representations.length;
    if (count > options.maxRepresentations) {
      throw badUserInput(`_entities takes at most ${options.maxRepresentations} representations, not ${count}`);
    }
    return resolve(source, args, context, info);
  };
  return schema;
}
