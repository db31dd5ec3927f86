--[[
  Replaces a user's whole state (for rehydration from the durable copy) unless
  Redis already holds the same or a newer version.

  KEYS[1] state hash   KEYS[2] seen zset   KEYS[3] bucket hash   KEYS[4] recent hash   KEYS[5] category zset
  KEYS[6] offset hash
  ARGV[1] version
  ARGV[2] the state hash fields as JSON { field: string }
  ARGV[3] seen as JSON [eventId, arrival time, ...]
  ARGV[4] buckets as JSON { field: count }
  ARGV[5] recent as JSON { itemId: 'occurredAt:eventId' }
  ARGV[6] categories as JSON [category, scaled affinity, ...]
  ARGV[7] offsets as JSON { topic/partition: offset }
  Numbers inside the JSON arrays are strings, so no precision is lost on the way.

  Returns 1 when written, 0 when the stored version is >= ARGV[1].
]]
local stored = tonumber(redis.call('HGET', KEYS[1], 'version')) or -1
if stored >= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])

-- One call per member: restoring is rare, and unpack() of a large table would overflow Lua's stack.
local function hset(key, map)
  for field, value in pairs(map) do redis.call('HSET', key, field, value) end
end
local function zadd(key, list)
  for i = 1, #list, 2 do redis.call('ZADD', key, list[i + 1], list[i]) end
end

redis.call('HSET', KEYS[1], 'version', ARGV[1])
hset(KEYS[1], cjson.decode(ARGV[2]))
zadd(KEYS[2], cjson.decode(ARGV[3]))
hset(KEYS[3], cjson.decode(ARGV[4]))
hset(KEYS[4], cjson.decode(ARGV[5]))
zadd(KEYS[5], cjson.decode(ARGV[6]))
hset(KEYS[6], cjson.decode(ARGV[7]))
return 1
