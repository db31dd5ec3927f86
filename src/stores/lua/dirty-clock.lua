--[[
  The clock that stamps dirty marks (mark-dirty.lua): TIME of the server
  holding the dirty index, read through its key so that on a cluster it is
  that node's clock, not any node's.

  KEYS[1]  dirty  (only routes the call; not read)

  Returns the time in epoch ms.
]]
local t = redis.call('TIME')
return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
