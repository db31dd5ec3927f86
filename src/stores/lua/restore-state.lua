--[[
  Replaces a user's whole state (for rehydration from the durable copy) unless
  Redis already holds the same or a newer version; with ARGV[1] = 'force',
  whatever it holds (a recovery after a loss: only uncommitted batches wrote).

  KEYS[1] state hash   KEYS[2] seen ids (packed)   KEYS[3] bucket hash   KEYS[4] recent zset   KEYS[5] category zset
  KEYS[6] offset hash  KEYS[7] recent id hash   KEYS[8] legacy seen zset (removed)
  ARGV[1] 'force', or the version again (checked)
  ARGV[2] version
  ARGV[3] the state hash fields as JSON { field: string }
  ARGV[4] the seen ids, packed (16-byte records, contracts/seen-ids.ts), '' for none
  ARGV[5] buckets as JSON { field: count }
  ARGV[6] recent as JSON { itemId: 'occurredAt:eventId' }
  ARGV[7] categories as JSON [category, scaled affinity, ...]
  ARGV[8] offsets as JSON { topic/partition: offset }
  ARGV[9] the idle TTL (ms) to start the countdown with (the copy restored is durable), or '' for none
  Numbers inside the JSON arrays are strings, so no precision is lost on the way.

  Returns 1 when written, 0 when the stored version is >= ARGV[2] (unchecked with 'force').
]]
if ARGV[1] ~= 'force' then
  local stored = tonumber(redis.call('HGET', KEYS[1], 'version')) or -1
  if stored >= tonumber(ARGV[2]) then return 0 end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8])

-- One call per member: restoring is rare, and unpack() of a large table would overflow Lua's stack.
local function hset(key, map)
  for field, value in pairs(map) do redis.call('HSET', key, field, value) end
end
local function zadd(key, list)
  for i = 1, #list, 2 do redis.call('ZADD', key, list[i + 1], list[i]) end
end

redis.call('HSET', KEYS[1], 'version', ARGV[2])
hset(KEYS[1], cjson.decode(ARGV[3]))
if #ARGV[4] > 0 then redis.call('SET', KEYS[2], ARGV[4]) end
hset(KEYS[3], cjson.decode(ARGV[5]))
for item, stamp in pairs(cjson.decode(ARGV[6])) do
  local sep = string.find(stamp, ':', 1, true)
  redis.call('ZADD', KEYS[4], string.sub(stamp, 1, sep - 1), item)
  redis.call('HSET', KEYS[7], item, string.sub(stamp, sep + 1))
end
zadd(KEYS[5], cjson.decode(ARGV[7]))
hset(KEYS[6], cjson.decode(ARGV[8]))
if ARGV[9] ~= '' then
  local t = redis.call('TIME')
  local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[9])
  for i = 1, #KEYS do redis.call('PEXPIREAT', KEYS[i], at) end
end
return 1
