--[[
  Replaces a user's state hash unless it already holds the same or a newer version.

  KEYS[1]  the user's state hash
  ARGV[1]  the new version (integer)
  ARGV[2..] field, value, field, value, ... of the new state (without `version`)

  Returns 1 when the state was written, 0 when the stored version is >= ARGV[1].
]]
local stored = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
if stored >= tonumber(ARGV[1]) then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', ARGV[1], unpack(ARGV, 2))
return 1
