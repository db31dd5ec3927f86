import { GraphQLScalarType, Kind } from 'graphql';
import { badUserInput } from '../errors.js';

/** Epoch ms (or ISO text) out, ISO-8601 UTC text; ISO-8601 text in. */
export const DateTime = new GraphQLScalarType({
  name: 'DateTime',
  serialize(value) {
    const date = typeof value === 'number' || typeof value === 'string' ? new Date(value) : value;
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new TypeError('DateTime cannot represent this value');
    return date.toISOString();
  },
  parseValue(value) {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw badUserInput('DateTime must be ISO-8601 text');
    return value;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING || Number.isNaN(Date.parse(ast.value))) throw badUserInput('DateTime must be ISO-8601 text');
    return ast.value;
  },
});
