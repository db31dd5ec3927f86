/**
 * Every Redis key this service uses is built here. All keys of one user share
 * one hash tag, `{u:<id>}`, so a user's keys live in one Redis Cluster slot
 * and a script may touch them together.
 */
export interface RedisKeys {
  /** Hash: the user's state fields (see UserState). */
  userState(userId: string): string;
}

export function redisKeys(prefix: string): RedisKeys {
  const user = (userId: string) => `${prefix}{u:${userId}}`;
  return {
    userState: (userId) => `${user(userId)}:state`,
  };
}
