--[[
  Marks users as changed since their last sync, stamped by this Redis
  server's clock, never by a writer's: the sync compares these marks with
  `dirty-clock.lua`'s reading of the same clock, so processors and syncs on
  hosts whose clocks disagree cannot record a checkpoint too early. NX keeps
  the time a user first became dirty (the sync's lag).

  KEYS[1]  dirty  (userId -> dirty since, epoch ms; the {sync} hash tag)
  ARGV     the user ids

  Returns how many users became dirty.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local marked = 0
for _, id in ipairs(ARGV) do marked = marked + redis.call('ZADD', KEYS[1], 'NX', now, id) end
return marked
