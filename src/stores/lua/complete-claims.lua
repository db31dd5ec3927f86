--[[
  Ends the claims of users whose state has been written durably. A user
  changed again meanwhile is back in the dirty set already, so it stays dirty.

  KEYS[1]  claims   KEYS[2]  leases   (both under the {sync} hash tag)
  ARGV     the user ids

  Returns how many claims were ended.
]]
local ended = 0
for _, id in ipairs(ARGV) do
  ended = ended + redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return ended
