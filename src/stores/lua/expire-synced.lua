--[[
  Starts a user's idle countdown once MongoDB holds its latest version: every
  key of the user expires at one instant, `ttl` from now, unless the user has
  changed since (its version is no longer the one written). A change clears
  the countdown again (apply-events.lua, apply-profile.lua), so a user whose
  latest changes exist only in Redis never expires.

  KEYS[1..8]  the user's keys (keys.ts userKeyList), KEYS[1] the state hash
  ARGV[1]     the version MongoDB now holds
  ARGV[2]     the idle TTL (ms)

  Returns 1 when the countdown was started, 0 when the user changed or is gone.
]]
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
local t = redis.call('TIME')
local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2])
for i = 1, #KEYS do redis.call('PEXPIREAT', KEYS[i], at) end
return 1
