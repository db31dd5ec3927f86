/**
 * The API's error catalogue: every error a client can see has one of these
 * codes. Anything else is masked as INTERNAL_SERVER_ERROR (see maskError), so
 * no message or stack of an unexpected failure reaches a client.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';

export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  /** Redis and MongoDB both failed to answer: worth trying again shortly. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const coded = (code: ErrorCode, message: string, http?: number) =>
  new GraphQLError(message, { extensions: { code, ...(http ? { http: { status: http } } : {}) } });

export const badUserInput = (message: string) => coded(ErrorCode.BAD_USER_INPUT, message);
export const unauthenticated = (message = 'Sign in to read this field.') => coded(ErrorCode.UNAUTHENTICATED, message);
export const unavailable = (message = 'The activity data is unavailable right now; try again shortly.') => coded(ErrorCode.SERVICE_UNAVAILABLE, message);
export const forbidden = (message = 'You may not read this user’s private fields.') => coded(ErrorCode.FORBIDDEN, message);

/** Codes Apollo Server and graphql-armor assign to request errors a client caused. */
const CLIENT_CODES = new Set<string>([
  // Not INTERNAL_SERVER_ERROR: Apollo gives that code to any error a resolver throws, message and all.
  ...Object.values(ErrorCode).filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** Request errors the client caused before execution (bad syntax, failed validation, a limit). */
export const isRequestError = (code: unknown): boolean => code === 'GRAPHQL_PARSE_FAILED' || code === 'GRAPHQL_VALIDATION_FAILED';

/** Keeps catalogued errors as they are; hides everything else behind one generic error. */
export function maskError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && CLIENT_CODES.has(code)) return formatted;
  return { message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR }, ...(formatted.path ? { path: formatted.path } : {}) };
}
