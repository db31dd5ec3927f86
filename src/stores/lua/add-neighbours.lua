--[[
  Adds weights to one item's two neighbour lists (viewed, bought) and keeps the
  M strongest of each (on a tie at the cut, the greater neighbour id stays, as
  the sorted set ranks them).

  Only what can make the cut is written: a neighbour already in the list
  always is, and of the others the M first, the pairs coming in the sorted
  set's own order (heaviest first, on equal weight the greater id by bytes).
  Each of the rest is outranked by M of those, so leaving it out changes
  nothing the trim would keep, and saves a ZINCRBY per pair.

  KEYS[1]  viewed neighbour zset of the item (neighbourId -> weight)
  KEYS[2]  bought neighbour zset of the same item (same hash tag)
  ARGV[1]  M
  ARGV[2..] per relation, viewed then bought: n, then n pairs neighbourId,
           weight to add, in that order when n > M

  Returns the number of ZINCRBY calls made.
]]
local m = tonumber(ARGV[1])
local at, written = 2, 0
for k = 1, 2 do
  local n = tonumber(ARGV[at])
  local first, last = at + 1, at + 2 * n
  at = last + 1
  if n > 0 then
    local key = KEYS[k]
    local stored, others = {}, 0
    if n > m then
      for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do stored[member] = true end
    end
    for i = first, last, 2 do
      local member, weight = ARGV[i], ARGV[i + 1]
      local write = n <= m or stored[member]
      if not write and others < m then
        others = others + 1
        write = true
      end
      if write then
        redis.call('ZINCRBY', key, weight, member)
        written = written + 1
      end
    end
    redis.call('ZREMRANGEBYRANK', key, 0, -(m + 1))
  end
end
return written
