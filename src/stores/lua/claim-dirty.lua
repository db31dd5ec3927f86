--[[
  Claims up to N dirty users for one sync pass, atomically, with a lease.
  First, claims whose lease expired (their instance died or stalled) go back
  to the dirty set, keeping the earliest dirty time. Then the N users dirty
  longest are moved to the claims, each with a lease.

  KEYS[1]  dirty  (userId -> dirty since)
  KEYS[2]  claims (userId -> dirty since)
  KEYS[3]  leases (userId -> lease expiry)
  All three share the {sync} hash tag.
  ARGV[1]  now (epoch ms)   ARGV[2] lease (ms)   ARGV[3] N

  Returns the claimed user ids.
]]
local now = tonumber(ARGV[1])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
  local since = redis.call('ZSCORE', KEYS[2], id)
  if since then redis.call('ZADD', KEYS[1], 'LT', since, id) end
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
local popped = redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[3]))
local ids = {}
for i = 1, #popped, 2 do
  local id, since = popped[i], popped[i + 1]
  ids[#ids + 1] = id
  redis.call('ZADD', KEYS[2], since, id)
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), id)
end
return ids
