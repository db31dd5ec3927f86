/** Driver errors classified for retries, on real instances of each driver's error classes. */
import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import kafkajs from 'kafkajs';
import {
  BSON, MongoInvalidArgumentError, MongoNetworkError, MongoNetworkTimeoutError, MongoServerError, MongoServerSelectionError, type TopologyDescription,
} from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  classify, DecodeError, DependencyError, DependencyRejectedError, EventInFutureError, isRetriable, isStoreFull, StoppedError,
} from '../../src/errors.js';

const { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;
const reply = (message: string) => new (ReplyError as new (m: string) => Error)(message);
const systemError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:61379`), { code, syscall: 'connect' });
const serverError = (code: number, message: string, errorLabels: string[] = []) => new MongoServerError({ message, errmsg: message, code, errorLabels });
const kafkaConnection = () => new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:61092', { broker: '127.0.0.1:61092', code: 'ECONNREFUSED' });
// UNKNOWN_TOPIC_OR_PARTITION, as kafkajs' protocol layer builds it.
const unknownTopic = () =>
  new KafkaJSProtocolError(Object.assign(new Error('This server does not host this topic-partition'), { type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true }));

describe('isRetriable', () => {
  it.each<[string, () => unknown]>([
    ['ioredis MaxRetriesPerRequestError', () => new MaxRetriesPerRequestError(2)],
    ['ioredis command timeout', () => new Error('Command timed out')],
    ['ioredis closed connection', () => new Error('Connection is closed.')],
    ['ECONNREFUSED', () => systemError('ECONNREFUSED')],
    ['ECONNRESET', () => systemError('ECONNRESET')],
    ['EPIPE', () => systemError('EPIPE')],
    ['ETIMEDOUT', () => systemError('ETIMEDOUT')],
    ['Redis NOSCRIPT', () => reply('NOSCRIPT No matching script. Please use EVAL.')],
    ['Redis LOADING', () => reply('LOADING Redis is loading the dataset in memory')],
    ['MongoNetworkError', () => new MongoNetworkError('connection 1 to 127.0.0.1:61017 closed')],
    ['MongoNetworkTimeoutError', () => new MongoNetworkTimeoutError('connection 1 to 127.0.0.1:61017 timed out')],
    ['MongoServerSelectionError', () => new MongoServerSelectionError('Server selection timed out after 30000 ms', {} as TopologyDescription)],
    ['a MongoServerError labelled RetryableWriteError', () => serverError(10107, 'not primary', ['RetryableWriteError'])],
    ['KafkaJSConnectionError', kafkaConnection],
    ['KafkaJSNumberOfRetriesExceeded', () => new KafkaJSNumberOfRetriesExceeded(kafkaConnection(), { retryCount: 8, retryTime: 5000 })],
    ['a retriable KafkaJSProtocolError', unknownTopic],
    ['DependencyError', () => new DependencyError('redis', new Error('Command timed out'))],
    ['an unknown error (a passing fault until shown otherwise)', () => new Error('something odd')],
  ])('retries %s', (_name, make) => {
    expect(isRetriable(make())).toBe(true);
  });

  it.each<[string, () => unknown]>([
    ['a Redis script error (Redis 6)', () => reply('ERR Error running script (call to f_0123): @user_script:12: user_script:12: attempt to compare nil with number')],
    ['a Redis script error (Redis 7)', () => reply("ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: 0123, on @user_script:1.")],
    ['Redis WRONGTYPE', () => reply('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['MongoDB BadValue', () => serverError(2, 'BadValue')],
    ['MongoDB BSONObjectTooLarge', () => serverError(10334, 'BSONObj size: 17000000 is invalid')],
    ['MongoDB document too large (17419)', () => serverError(17419, 'Resulting document after update is larger than 16777216')],
    ['MongoDB document too large (17420)', () => serverError(17420, 'Document is too large')],
    ['MongoDB DocumentValidationFailure', () => serverError(121, 'Document failed validation')],
    ['BSONError', () => new BSON.BSONError('Document is larger than the maximum size 16777216')],
    ['MongoInvalidArgumentError', () => new MongoInvalidArgumentError('Update document requires atomic operators')],
    ['KafkaJSNonRetriableError', () => new KafkaJSNonRetriableError('Invalid topic x')],
    ['DecodeError', () => new DecodeError('not JSON')],
    ['EventInFutureError', () => new EventInFutureError('dated 1 h ahead')],
    ['StoppedError', () => new StoppedError('stopping')],
  ])('does not retry %s', (_name, make) => {
    expect(isRetriable(make())).toBe(false);
  });

  it('takes a MongoDB label over a deterministic code, and leaves other server codes retriable', () => {
    expect(isRetriable(serverError(2, 'BadValue', ['RetryableWriteError']))).toBe(true);
    expect(isRetriable(serverError(91, 'The server is in quiesce mode and will shut down'))).toBe(true);
  });
});

describe('classify', () => {
  it('wraps a driver error by its verdict, naming the dependency and keeping the cause', () => {
    const timeout = new MaxRetriesPerRequestError(2);
    const retriable = classify(timeout);
    expect(retriable).toBeInstanceOf(DependencyError);
    expect([retriable.code, retriable.retriable, (retriable as DependencyError).dependency, retriable.cause]).toEqual(['DEPENDENCY_UNAVAILABLE', true, 'redis', timeout]);

    const script = reply('ERR user_script:1: boom');
    const refused = classify(script);
    expect(refused).toBeInstanceOf(DependencyRejectedError);
    expect([refused.code, refused.retriable, (refused as DependencyRejectedError).dependency, refused.cause]).toEqual(['DEPENDENCY_REJECTED', false, 'redis', script]);

    expect(classify(serverError(121, 'Document failed validation'))).toMatchObject({ code: 'DEPENDENCY_REJECTED', retriable: false, dependency: 'mongodb' });
    expect(classify(new BSON.BSONError('too large'))).toMatchObject({ code: 'DEPENDENCY_REJECTED', dependency: 'mongodb' });
    expect(classify(unknownTopic())).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', retriable: true, dependency: 'kafka', message: 'kafka unavailable: This server does not host this topic-partition' });
    expect(classify(systemError('ECONNRESET'), 'redis')).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', dependency: 'redis' });
  });

  it('returns one of our own errors as it is', () => {
    const decode = new DecodeError('not JSON');
    expect(classify(decode)).toBe(decode);
  });

  it('tells a full Redis (OOM, also wrapped) from its other refusals', () => {
    const full = reply("OOM command not allowed when used memory > 'maxmemory'. script: 085b, on @user_script:1.");
    expect(isStoreFull(full)).toBe(true);
    expect(isStoreFull(classify(full))).toBe(true);
    expect(isRetriable(full)).toBe(true);
    expect(isStoreFull(reply('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
    expect(isStoreFull(new Error('OOM'))).toBe(false);
  });
});
