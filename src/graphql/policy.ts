/**
 * The GraphQL policy: one for every transport. HTTP (api/server.ts) and
 * graphql-ws (api/websocket.ts) are thin adapters over it, as graphql-ws's
 * `use/ws` is over its `makeServer`.
 *
 * - `admit`: credentials → session (router secret, then JWT), or a coded
 *   refusal carrying its HTTP status.
 * - `parseOptions` and `validationRules`: the token limit, graphql-armor's
 *   depth, alias, cost and directive limits, and no introspection where it
 *   is off, all from config.
 * - `formatError`: what a client may see. Catalogued errors pass (with field
 *   suggestions removed, since they leak the schema); a dependency failure
 *   becomes SERVICE_UNAVAILABLE; anything else is masked and reported.
 */
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { AccessRefusedError, type Authenticator, type Credentials, type Session } from '../access/credentials.js';
import type { Viewer } from '../access/viewer.js';
import type { Config } from '../config.js';
import { DependencyError } from '../errors.js';
import type { GraphQLContext } from './context.js';
import { ErrorCode, maskError, unavailable } from './errors.js';

/** Introspection on or off, and the token, depth, alias, cost and directive limits (config `api`). */
export type PolicyLimits = Pick<Config['api'], 'introspection' | 'maxDepth' | 'maxAliases' | 'maxTokens' | 'maxCost' | 'maxDirectives'>;

export interface GraphQLPolicyOptions {
  readonly schema: GraphQLSchema;
  readonly limits: PolicyLimits;
  readonly authenticator: Authenticator;
  /** A fresh context for one operation of `viewer`. */
  readonly context: (viewer: Viewer) => GraphQLContext;
  /** Told of every error masked for being unexpected (to log it). */
  readonly onUnexpected?: (error: unknown) => void;
}

/** One operation as a client sends it, on either transport. */
export interface GraphQLRequest {
  readonly query: string;
  readonly variables?: Readonly<Record<string, unknown>> | null | undefined;
  readonly operationName?: string | null | undefined;
}

export interface GraphQLPolicy {
  readonly schema: GraphQLSchema;
  readonly parseOptions: { readonly maxTokens: number };
  /** Rules beyond graphql's specified ones. */
  readonly validationRules: readonly ValidationRule[];
  /** The session for `credentials`, or a coded GraphQLError with `extensions.http.status` 401 or 403. */
  admit(credentials: Credentials): Promise<Session>;
  /** Parsed, validated execution arguments for `viewer`, or the errors to answer with. */
  prepare(request: GraphQLRequest, viewer: Viewer): ExecutionArgs | readonly GraphQLError[];
  context(viewer: Viewer): GraphQLContext;
  /** What a client sees of an error; `error` is the original, when there is one. */
  formatError(formatted: GraphQLFormattedError, error?: unknown): GraphQLFormattedError;
  formatResult(result: ExecutionResult): FormattedExecutionResult;
}

/** "Did you mean …?" names fields and types the caller did not know. */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

function rootCause(error: unknown): unknown {
  let cause = error;
  while (cause instanceof GraphQLError && cause.originalError) cause = cause.originalError;
  return cause;
}

/** Armor's rules throw out of `validate` by default; reported, they are validation errors like any other. */
const reported = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

const coded = (error: GraphQLError, code: string) =>
  new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { ...error.extensions, code } });

export function createGraphQLPolicy(o: GraphQLPolicyOptions): GraphQLPolicy {
  const l = o.limits;
  const validationRules: ValidationRule[] = [
    maxDepthRule({ n: l.maxDepth, ...reported }),
    maxAliasesRule({ n: l.maxAliases, ...reported }),
    costLimitRule({ maxCost: l.maxCost, ...reported }),
    maxDirectivesRule({ n: l.maxDirectives, ...reported }),
    ...(l.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
  const allRules = [...specifiedRules, ...validationRules];
  const parseOptions = { maxTokens: l.maxTokens };

  function formatError(formatted: GraphQLFormattedError, error?: unknown): GraphQLFormattedError {
    if (rootCause(error) instanceof DependencyError) {
      return { ...unavailable().toJSON(), ...(formatted.path ? { path: formatted.path } : {}) };
    }
    const masked = maskError(formatted);
    if (masked !== formatted) {
      o.onUnexpected?.(error ?? formatted);
      return masked;
    }
    const message = masked.message.replace(SUGGESTION, '');
    return message === masked.message ? masked : { ...masked, message };
  }

  return {
    schema: o.schema,
    parseOptions,
    validationRules,
    async admit(credentials) {
      try {
        return await o.authenticator.admit(credentials);
      } catch (error) {
        if (!(error instanceof AccessRefusedError)) throw error;
        const code = error.status === 401 ? ErrorCode.UNAUTHENTICATED : ErrorCode.FORBIDDEN;
        throw new GraphQLError(error.message, { extensions: { code, http: { status: error.status } } });
      }
    },
    prepare(request, viewer) {
      let document: DocumentNode;
      try {
        document = parse(request.query, parseOptions);
      } catch (error) {
        if (error instanceof GraphQLError) return [coded(error, 'GRAPHQL_PARSE_FAILED')];
        throw error;
      }
      const errors = validate(o.schema, document, allRules);
      if (errors.length > 0) return errors.map((e) => coded(e, 'GRAPHQL_VALIDATION_FAILED'));
      return {
        schema: o.schema,
        document,
        variableValues: request.variables ?? undefined,
        operationName: request.operationName ?? undefined,
        contextValue: o.context(viewer),
      };
    },
    context: o.context,
    formatError,
    formatResult(result) {
      // Without data, execution never started: the variables or the operation name were wrong.
      const requestErrors = result.data === undefined;
      const errors = result.errors?.map((e) => formatError((requestErrors && !e.extensions.code ? coded(e, ErrorCode.BAD_USER_INPUT) : e).toJSON(), e));
      return {
        ...(result.data !== undefined ? { data: result.data } : {}),
        ...(errors ? { errors } : {}),
        ...(result.extensions ? { extensions: result.extensions } : {}),
      };
    },
  };
}
