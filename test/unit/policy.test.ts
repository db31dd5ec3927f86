/** The GraphQL policy both transports use, without a transport: parse, validate, format. */
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/access/credentials.js';
import type { Viewer } from '../../src/access/viewer.js';
import { loadConfig } from '../../src/config.js';
import { DependencyError } from '../../src/errors.js';
import { createContextFactory } from '../../src/graphql/context.js';
import { createGraphQLPolicy } from '../../src/graphql/policy.js';
import { createSubgraphSchema } from '../../src/graphql/schema.js';
import { createMemoryItemGraphStore } from '../../src/stores/memory-item-graph-store.js';
import { createMemoryUserStateStore } from '../../src/stores/memory-user-state-store.js';

const config = loadConfig({}, { MAX_TOKENS: '100', MAX_DEPTH: '4', INTROSPECTION: 'false', ROUTER_SECRET: 'router-secret-0123456789' });
const unexpected: unknown[] = [];
const policy = createGraphQLPolicy({
  schema: createSubgraphSchema({ maxRepresentations: 10 }),
  limits: config.api,
  authenticator: createAuthenticator(config.auth),
  context: createContextFactory({
    userStates: createMemoryUserStateStore(config.features),
    itemGraph: createMemoryItemGraphStore(config.recommendations),
    features: config.features,
    recommendations: config.recommendations,
    maxBatchSize: 10,
  }),
  onUnexpected: (e) => unexpected.push(e),
});
const viewer: Viewer = { kind: 'user', userId: 'alice' };
const errorsOf = (query: string) => {
  const prepared = policy.prepare({ query }, viewer);
  return 'document' in prepared ? [] : prepared.map((e) => ({ message: e.message, code: e.extensions.code }));
};

describe('GraphQL policy', () => {
  it('prepares a valid operation with a context for its viewer', () => {
    const prepared = policy.prepare({ query: 'query Q($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) { __typename } }', variables: { id: 'a' }, operationName: 'Q' }, viewer) as ExecutionArgs;
    expect(prepared.variableValues).toEqual({ id: 'a' });
    expect(prepared.operationName).toBe('Q');
    expect((prepared.contextValue as { viewer: Viewer }).viewer).toBe(viewer);
  });

  it('codes parse failures and every limit as request errors, from config', () => {
    expect(errorsOf(`{ ${'__typename '.repeat(101)}}`)).toEqual([{ message: 'Syntax Error: Document contains more that 100 tokens. Parsing aborted.', code: 'GRAPHQL_PARSE_FAILED' }]);
    expect(errorsOf('{ a { b { c { d { e } } } } }').map((e) => e.message)).toContain('Syntax Error: Query depth limit of 4 exceeded, found 5.');
    const introspection = errorsOf('{ __schema { queryType { name } } }');
    expect(introspection.some((e) => e.code === 'GRAPHQL_VALIDATION_FAILED' && /introspection has been disabled/.test(e.message))).toBe(true);
  });

  it('admits with a coded refusal carrying the HTTP status', async () => {
    await expect(policy.admit({})).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
    await expect(policy.admit({ routerSecret: 'router-secret-012345678x' })).rejects.toMatchObject({ extensions: { code: 'FORBIDDEN', http: { status: 403 } } });
  });

  it('formats errors: suggestions removed, dependency failures unavailable, the unexpected masked and reported', () => {
    const typo = policy.formatError({ message: 'Cannot query field "tierr" on type "User". Did you mean "tier"?', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(typo.message).toBe('Cannot query field "tierr" on type "User".');
    const down = new GraphQLError('redis unavailable', { path: ['user'], originalError: new DependencyError('redis', new Error('ETIMEDOUT')) });
    expect(policy.formatError(down.toJSON(), down)).toEqual({ message: 'The activity data is unavailable right now; try again shortly.', extensions: { code: 'SERVICE_UNAVAILABLE' }, path: ['user'] });
    const bug = new GraphQLError('secret detail', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(policy.formatError(bug.toJSON(), bug)).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(unexpected).toEqual([bug]);
  });

  it('codes request errors of execution (bad variables) as BAD_USER_INPUT', () => {
    const result = policy.formatResult({ errors: [new GraphQLError('Variable "$id" of required type "ID!" was not provided.')] });
    expect(result).toEqual({ errors: [{ message: 'Variable "$id" of required type "ID!" was not provided.', extensions: { code: 'BAD_USER_INPUT' } }] });
  });
});
