--[[
  Applies one user's events atomically. Mirrors src/features/apply.ts step for
  step: skip Kafka redeliveries (an offset at or below the user's mark for its
  topic-partition) and re-sends (an eventId already seen), add the rest to the
  decayed score, the live window buckets, the last-activity and last-viewed
  stamps, recent items and category affinities, however old their event time;
  then cut recent items, forget ids that arrived more than the horizon before
  the batch's latest arrival, prune buckets behind the watermark and bump the
  version once if anything was applied. Offset marks move in any case.

  KEYS[1]  state hash           KEYS[2]  seen zset (eventId -> arrival time)
  KEYS[3]  bucket hash          KEYS[4]  recent hash (itemId -> 'occurredAt:eventId' of its latest interaction)
  KEYS[5]  category zset (category -> affinity scaled to the epoch)
  KEYS[6]  offset hash (topic/partition -> highest offset taken)
  All six share the user's hash tag, so the script is Redis Cluster safe.

  ARGV[1]  now (epoch ms)
  ARGV[2]  parameters as JSON: { halfLife, horizon, epoch, recent,
           windows = [[bucket width ms, buckets], ...], weights = { TYPE = weight } }
  ARGV[3]  n: how many of the latest recent items (before the batch) to return
  ARGV[4..] the events, eight values each: eventId, type, itemId or '', category or '',
           occurredAt, arrivedAt, source ('topic/partition' or ''), offset (or '')

  Returns { version, applied, resent, redelivered, fresh, latest }: `fresh` has
  one character per event, '1' when it was applied now, '0' otherwise;
  `latest` is [itemId, occurredAt, eventId, ...] of the n latest items before
  the batch, latest first (what the item graph pairs new items with). Items
  rank by time, then by the greater eventId, then by the greater item id.
]]
local function fmt(x) return string.format('%.17g', x) end

local now = tonumber(ARGV[1])
local p = cjson.decode(ARGV[2])
local halfLife, horizon, epoch = p.halfLife, p.horizon, p.epoch

local s = redis.call('HMGET', KEYS[1], 'version', 'watermark', 'scoreSum', 'scoreRefTime',
  'laAt', 'laId', 'laType', 'lvAt', 'lvId', 'lvItem')
local version = tonumber(s[1]) or 0
local startWatermark = tonumber(s[2]) or 0
local watermark = startWatermark
local sum = tonumber(s[3]) or 0
local ref = tonumber(s[4]) or 0
local la = { at = tonumber(s[5]), id = s[6], type = s[7] }
local lv = { at = tonumber(s[8]), id = s[9], item = s[10] }
local fresh = {}

local function newer(at, id, cur)
  if cur == nil or cur.at == nil then return true end
  if at ~= cur.at then return at > cur.at end
  return id > cur.id
end

-- Recent items as stored, item -> { at, id }, read once when the batch needs them.
local stored = nil
local function loadRecent()
  stored = {}
  local flat = redis.call('HGETALL', KEYS[4])
  for i = 1, #flat, 2 do
    local v = flat[i + 1]
    local sep = string.find(v, ':', 1, true)
    stored[flat[i]] = { at = tonumber(string.sub(v, 1, sep - 1)), id = string.sub(v, sep + 1) }
  end
end
-- The stored items, latest first.
local function ranked()
  local list = {}
  for item, r in pairs(stored) do list[#list + 1] = { item = item, at = r.at, id = r.id } end
  table.sort(list, function(a, b)
    if a.at ~= b.at then return a.at > b.at end
    if a.id ~= b.id then return a.id > b.id end
    return a.item > b.item
  end)
  return list
end

local wantLatest = tonumber(ARGV[3])
local latest = {}
if wantLatest > 0 then
  loadRecent()
  for i, r in ipairs(ranked()) do
    if i > wantLatest then break end
    latest[#latest + 1] = r.item
    latest[#latest + 1] = fmt(r.at)
    latest[#latest + 1] = r.id
  end
end
local function firstLive(w, at) return math.floor(at / p.windows[w][1]) - p.windows[w][2] + 1 end

local applied, resent, redelivered = 0, 0, 0
local latestArrival = nil
-- Offset marks by source, read once each; `moved` lists the ones to write back.
local marks, moved = {}, {}
-- Bucket counts as counts[window][type][bucket]: field names are built once
-- per distinct bucket at the end, since number-to-string is costly in Lua.
local counts, recent, categories, categoryOrder = {}, {}, {}, {}
for w = 1, #p.windows do counts[w] = {} end
for e = 4, #ARGV, 8 do
  local id, kind, item, category, at = ARGV[e], ARGV[e + 1], ARGV[e + 2], ARGV[e + 3], tonumber(ARGV[e + 4])
  local arrived, source, offset = tonumber(ARGV[e + 5]), ARGV[e + 6], tonumber(ARGV[e + 7])
  if latestArrival == nil or arrived > latestArrival then latestArrival = arrived end
  local redelivery = false
  if source ~= '' and offset ~= nil then
    if marks[source] == nil then
      marks[source] = tonumber(redis.call('HGET', KEYS[6], source)) or -1
    end
    if offset <= marks[source] then
      redelivery = true
    else
      marks[source] = offset
      moved[source] = true
    end
  end
  if redelivery then
    redelivered = redelivered + 1
    fresh[#fresh + 1] = '0'
  elseif redis.call('ZADD', KEYS[2], 'NX', arrived, id) == 0 then
    resent = resent + 1
    fresh[#fresh + 1] = '0'
  else
    applied = applied + 1
    fresh[#fresh + 1] = '1'
    if at > watermark then watermark = at end
    local weight = p.weights[kind]

    local newRef = math.max(ref, at)
    local carried = 0
    if sum ~= 0 then carried = sum * 2 ^ (-(newRef - ref) / halfLife) end
    sum = carried + weight * 2 ^ (-(newRef - at) / halfLife)
    ref = newRef

    if newer(at, id, la) then la = { at = at, id = id, type = kind } end
    if kind == 'VIEW' and item ~= '' and newer(at, id, lv) then lv = { at = at, id = id, item = item } end

    for w = 1, #p.windows do
      local bucket = math.floor(at / p.windows[w][1])
      if bucket >= firstLive(w, watermark) then
        local byType = counts[w][kind]
        if byType == nil then byType = {}; counts[w][kind] = byType end
        byType[bucket] = (byType[bucket] or 0) + 1
      end
    end
    if item ~= '' and newer(at, id, recent[item]) then recent[item] = { at = at, id = id } end
    if category ~= '' then
      if categories[category] == nil then
        categories[category] = 0
        categoryOrder[#categoryOrder + 1] = category
      end
      categories[category] = categories[category] + weight * 2 ^ ((at - epoch) / halfLife)
    end
  end
end

local markFields = {}
for source in pairs(moved) do
  markFields[#markFields + 1] = source
  markFields[#markFields + 1] = fmt(marks[source])
end
if #markFields > 0 then redis.call('HSET', KEYS[6], unpack(markFields)) end

if applied == 0 then return { version, 0, resent, redelivered, table.concat(fresh), latest } end

for w = 1, #p.windows do
  for kind, byBucket in pairs(counts[w]) do
    local prefix = (w - 1) .. ':' .. kind .. ':'
    for bucket, n in pairs(byBucket) do redis.call('HINCRBY', KEYS[3], prefix .. bucket, n) end
  end
end
for _, category in ipairs(categoryOrder) do redis.call('ZINCRBY', KEYS[5], fmt(categories[category]), category) end
if next(recent) ~= nil then
  if stored == nil then loadRecent() end
  local changed, count = {}, 0
  for item, r in pairs(recent) do
    if newer(r.at, r.id, stored[item]) then
      stored[item] = r
      changed[item] = true
    end
  end
  for _ in pairs(stored) do count = count + 1 end
  if count > p.recent then
    local cut = {}
    for i, r in ipairs(ranked()) do
      if i > p.recent then
        -- Deleted even when new to the hash: an item may have been stored before with an older stamp.
        changed[r.item] = nil
        cut[#cut + 1] = r.item
      end
    end
    for i = 1, #cut, 400 do redis.call('HDEL', KEYS[4], unpack(cut, i, math.min(i + 399, #cut))) end
  end
  local fields = {}
  for item in pairs(changed) do
    fields[#fields + 1] = item
    fields[#fields + 1] = fmt(stored[item].at) .. ':' .. stored[item].id
    if #fields >= 400 then redis.call('HSET', KEYS[4], unpack(fields)); fields = {} end
  end
  if #fields > 0 then redis.call('HSET', KEYS[4], unpack(fields)) end
end

redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. fmt(latestArrival - horizon))
if watermark > startWatermark then
  -- Buckets below a window's first live bucket are dead. Before this call none
  -- was below the old first live bucket, so only the buckets between the old
  -- and the new one can be: name them, or scan the hash when that is cheaper.
  local types = 0
  for _ in pairs(p.weights) do types = types + 1 end
  local names, jumped = 0, false
  for w = 1, #p.windows do
    local advanced = firstLive(w, watermark) - firstLive(w, startWatermark)
    if advanced > p.windows[w][2] then jumped = true end
    names = names + types * advanced
  end
  local dead = {}
  if jumped or names > redis.call('HLEN', KEYS[3]) then
    for _, field in ipairs(redis.call('HKEYS', KEYS[3])) do
      local w, bucket = string.match(field, '^(%d+):[^:]+:(-?%d+)$')
      w = tonumber(w) + 1
      if p.windows[w] == nil or tonumber(bucket) < firstLive(w, watermark) then dead[#dead + 1] = field end
    end
  else
    for w = 1, #p.windows do
      for b = firstLive(w, startWatermark), firstLive(w, watermark) - 1 do
        for kind in pairs(p.weights) do dead[#dead + 1] = (w - 1) .. ':' .. kind .. ':' .. b end
      end
    end
  end
  for i = 1, #dead, 400 do redis.call('HDEL', KEYS[3], unpack(dead, i, math.min(i + 399, #dead))) end
end

version = version + 1
redis.call('HSET', KEYS[1], 'version', version, 'updatedAt', fmt(now), 'watermark', fmt(watermark),
  'scoreSum', fmt(sum), 'scoreRefTime', fmt(ref),
  'laAt', fmt(la.at), 'laId', la.id, 'laType', la.type)
if lv.at ~= nil then redis.call('HSET', KEYS[1], 'lvAt', fmt(lv.at), 'lvId', lv.id, 'lvItem', lv.item) end
return { version, applied, resent, redelivered, table.concat(fresh), latest }
