--[[
  Applies a static profile update unless the stored profile is as new or newer.
  Mirrors applyProfile in src/features/apply.ts. A user with an idle countdown
  (expire-synced.lua) loses it: its latest state exists only here until the
  sync writes it.

  KEYS[1..8]  the user's keys (keys.ts userKeyList), KEYS[1] the state hash
  ARGV[1]  profile version   ARGV[2] vip (1 or 0)   ARGV[3] status ('' for none)   ARGV[4] now (epoch ms)

  Returns the new state version, or 0 when the update was older than the stored profile.
]]
local stored = tonumber(redis.call('HGET', KEYS[1], 'profileVersion')) or 0
if tonumber(ARGV[1]) <= stored then return 0 end
if redis.call('PTTL', KEYS[1]) > 0 then
  for i = 1, #KEYS do redis.call('PERSIST', KEYS[i]) end
end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'profileVersion', ARGV[1], 'vip', ARGV[2], 'status', ARGV[3],
  'updatedAt', ARGV[4])
return version
