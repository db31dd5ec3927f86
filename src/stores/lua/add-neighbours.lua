--[[
  Adds weights to one item's neighbour list in one relation and keeps the M
  strongest (on a tie at the cut, the greater neighbour id stays, as the
  sorted set ranks them).

  KEYS[1]  neighbour zset of one item and relation (neighbourId -> weight)
  ARGV[1]  M
  ARGV[2..] neighbourId, weight to add, ...

  Returns the number of neighbours kept.
]]
for i = 2, #ARGV, 2 do redis.call('ZINCRBY', KEYS[1], ARGV[i + 1], ARGV[i]) end
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1) end
return redis.call('ZCARD', KEYS[1])
