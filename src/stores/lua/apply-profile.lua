--[[
  Applies a static profile update unless the stored profile is as new or newer.
  Mirrors applyProfile in src/features/apply.ts.

  KEYS[1]  the user's state hash
  ARGV[1]  profile version   ARGV[2] vip (1 or 0)   ARGV[3] status ('' for none)   ARGV[4] now (epoch ms)

  Returns the new state version, or 0 when the update was older than the stored profile.
]]
local stored = tonumber(redis.call('HGET', KEYS[1], 'profileVersion')) or 0
if tonumber(ARGV[1]) <= stored then return 0 end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'profileVersion', ARGV[1], 'vip', ARGV[2], 'status', ARGV[3],
  'updatedAt', ARGV[4])
return version
