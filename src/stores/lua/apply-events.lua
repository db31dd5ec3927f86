--[[
  Applies one user's events atomically. Mirrors src/features/apply.ts step for
  step: skip Kafka redeliveries (an offset at or below the user's mark for its
  topic-partition) and re-sends (an eventId already seen), add the rest to the
  decayed score, the live window buckets, the last-activity and last-viewed
  stamps, recent items and category affinities, however old their event time;
  then cut recent items and categories to their caps, forget ids that arrived
  more than the horizon before the batch's latest arrival (and the earliest
  beyond the cap), prune buckets behind the watermark and bump the version
  once if anything was applied. Offset marks move in any case.

  KEYS[1]  state hash           KEYS[2]  seen ids: 16-byte records, oldest first (contracts/seen-ids.ts)
  KEYS[3]  bucket hash          KEYS[4]  recent zset (itemId -> occurredAt of its latest interaction)
  KEYS[5]  category zset (category -> affinity scaled to the epoch)
  KEYS[6]  offset hash (topic/partition -> highest offset taken)
  KEYS[7]  recent id hash (itemId -> eventId of that latest interaction)
  KEYS[8]  legacy seen zset (eventId -> arrival ms), as versions before the packed
           form kept the ids: packed into KEYS[2] and removed before anything else
  All eight share the user's hash tag, so the script is Redis Cluster safe.

  ARGV[1]  now (epoch ms)
  ARGV[2]  parameters as JSON: { halfLife, horizon, epoch, recent, categories, seen (caps),
           windows = [[bucket width ms, buckets], ...], weights = { TYPE = weight } }
  ARGV[3]  n: how many of the latest recent items (before the batch) to return
  ARGV[4]  'present': apply only to a user Redis holds (an absent one may have
           expired or been lost, and is restored from MongoDB first); 'any': create one
  ARGV[5]  the events' id digests, 12 bytes each, in event order
  ARGV[6..] the events, eight values each: eventId, type, itemId or '', category or '',
           occurredAt, arrivedAt, source ('topic/partition' or ''), offset (or '')

  A user with an idle countdown (expire-synced.lua) loses it when anything is
  applied: its latest state then exists only here until the sync writes it.
  When only offset marks move, the countdown stays, for every key.

  Returns { -1 } for an absent user with 'present', with nothing written; else
  { version, applied, resent, redelivered, fresh, latest }: `fresh` has
  one character per event, '1' when it was applied now, '0' otherwise;
  `latest` is [itemId, occurredAt, eventId, ...] of the n latest items before
  the batch, latest first (what the item graph pairs new items with). Items
  rank by time, then by the greater eventId, then by the greater item id.
]]
local function fmt(x) return string.format('%.17g', x) end

-- Nothing is written for an absent user the caller restores first; an idle countdown is read once.
if ARGV[4] == 'present' and redis.call('EXISTS', KEYS[1]) == 0 then return { -1 } end
local ttl = redis.call('PTTL', KEYS[1])
local function keepCountdown() for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ttl) end end

-- The seen ids: 12 bytes of the id's SHA-1, 4 of its recorded arrival (seconds, big-endian).
local REC, DIGEST, FIRST = 16, 12, 6
local function u32(n) return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256) end
local function secondsAt(ids, i)
  local a, b, c, d = string.byte(ids, (i - 1) * REC + DIGEST + 1, i * REC)
  return ((a * 256 + b) * 256 + c) * 256 + d
end
local function seconds(ms) return math.min(4294967295, math.max(0, math.ceil(ms / 1000))) end
-- A sorted set of the older form is packed as contracts/seen-ids.ts packLegacySeen does, and written at once.
local function packLegacy()
  local flat = redis.call('ZRANGE', KEYS[8], 0, -1, 'WITHSCORES')
  if #flat == 0 then return '' end
  local parts, last = {}, 0
  for i = 1, #flat, 2 do
    last = math.max(seconds(tonumber(flat[i + 1])), last)
    local digest = string.gsub(string.sub(redis.sha1hex(flat[i]), 1, 2 * DIGEST), '..', function(h) return string.char(tonumber(h, 16)) end)
    parts[#parts + 1] = digest .. u32(last)
  end
  local packed = table.concat(parts)
  redis.call('SET', KEYS[2], packed)
  redis.call('DEL', KEYS[8])
  return packed
end
local seenIds = redis.call('GET', KEYS[2]) or packLegacy()
-- Whether a digest starts a record: a match across two records' bytes is not one.
local function remembered(digest)
  local from = 1
  while true do
    local at = string.find(seenIds, digest, from, true)
    if at == nil then return false end
    if (at - 1) % REC == 0 then return true end
    from = at + 1
  end
end

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

-- Items rank by time, then by the greater eventId, then by the greater item id.
local function before(a, b)
  if a.at ~= b.at then return a.at > b.at end
  if a.id ~= b.id then return a.id > b.id end
  return a.item > b.item
end
-- Sets `id` on each { item, at } of a list from the id hash, in one call.
local function withIds(list)
  if #list == 0 then return list end
  local names = {}
  for i, r in ipairs(list) do names[i] = r.item end
  local ids = redis.call('HMGET', KEYS[7], unpack(names))
  for i, r in ipairs(list) do r.id = ids[i] or '' end
  return list
end
-- Every stored item at time `at`: the members of a tie.
local function tiedAt(at)
  local list = {}
  for _, item in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], fmt(at), fmt(at))) do list[#list + 1] = { item = item, at = at } end
  return list
end
local function hasTies(list)
  for i = 2, #list do if list[i].at == list[i - 1].at then return true end end
  return false
end

-- The n latest items before the batch. The sorted set orders them by time; the
-- eventIds matter only to break ties, which at millisecond times are rare.
local wantLatest = tonumber(ARGV[3])
local latest = {}
if wantLatest > 0 then
  local flat = redis.call('ZREVRANGE', KEYS[4], 0, wantLatest, 'WITHSCORES')
  local list = {}
  for i = 1, #flat, 2 do list[#list + 1] = { item = flat[i], at = tonumber(flat[i + 1]) } end
  if #list > wantLatest then
    local edge = list[wantLatest].at
    if list[wantLatest + 1].at == edge then
      -- A tie across the n-th place: every member of it competes for the places left.
      local ranked = {}
      for _, r in ipairs(list) do if r.at > edge then ranked[#ranked + 1] = r end end
      for _, r in ipairs(tiedAt(edge)) do ranked[#ranked + 1] = r end
      list = ranked
    else
      list[#list] = nil
    end
  end
  withIds(list)
  if hasTies(list) then table.sort(list, before) end
  for i, r in ipairs(list) do
    if i > wantLatest then break end
    latest[#latest + 1] = r.item
    latest[#latest + 1] = fmt(r.at)
    latest[#latest + 1] = r.id
  end
end
local function firstLive(w, at) return math.floor(at / p.windows[w][1]) - p.windows[w][2] + 1 end

-- Which events apply, and so the watermark after the batch (a bucket behind
-- it would be pruned at the end, so it is never counted). A redelivery has an
-- offset at or below its source's mark, read once per source; a re-send has
-- an id already seen, stored or earlier in this batch. Stored ids are read and
-- the new ones written in a few large calls, not one call per event.
local applied, resent, redelivered = 0, 0, 0
local marks, moved, apply = {}, {}, {}
local latestArrival = nil
local candidates = {}
for e = FIRST, #ARGV, 8 do
  local arrived, source, offset = tonumber(ARGV[e + 5]), ARGV[e + 6], tonumber(ARGV[e + 7])
  if latestArrival == nil or arrived > latestArrival then latestArrival = arrived end
  local redelivery = false
  if source ~= '' and offset ~= nil then
    local mark = marks[source]
    if mark == nil then mark = tonumber(redis.call('HGET', KEYS[6], source)) or -1 end
    if offset <= mark then
      redelivery = true
    else
      mark = offset
      moved[source] = true
    end
    marks[source] = mark
  end
  fresh[#fresh + 1] = '0'
  if redelivery then redelivered = redelivered + 1 else candidates[#candidates + 1] = e end
end
local inBatch, added = {}, {}
local lastSeconds = 0
if #seenIds >= REC then lastSeconds = secondsAt(seenIds, #seenIds / REC) end
for _, e in ipairs(candidates) do
  local n = (e - FIRST) / 8
  local digest = string.sub(ARGV[5], n * DIGEST + 1, (n + 1) * DIGEST)
  if inBatch[digest] or remembered(digest) then
    resent = resent + 1
  else
    inBatch[digest] = true
    fresh[n + 1] = '1'
    applied = applied + 1
    lastSeconds = math.max(seconds(tonumber(ARGV[e + 5])), lastSeconds)
    added[#added + 1] = digest .. u32(lastSeconds)
    local at = tonumber(ARGV[e + 4])
    apply[#apply + 1] = e
    apply[#apply + 1] = at
    if at > watermark then watermark = at end
  end
end
local live = {}
for w = 1, #p.windows do live[w] = firstLive(w, watermark) end

-- Bucket counts as counts[window][type][bucket]: field names are built once
-- per distinct bucket at the end, since number-to-string is costly in Lua.
local counts, recent, categories, categoryOrder = {}, {}, {}, {}
for w = 1, #p.windows do counts[w] = {} end
for i = 1, #apply, 2 do
  local e, at = apply[i], apply[i + 1]
  local id, kind, item, category = ARGV[e], ARGV[e + 1], ARGV[e + 2], ARGV[e + 3]
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
    if bucket >= live[w] then
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

local markFields = {}
for source in pairs(moved) do
  markFields[#markFields + 1] = source
  markFields[#markFields + 1] = fmt(marks[source])
end
if #markFields > 0 then redis.call('HSET', KEYS[6], unpack(markFields)) end

if applied == 0 then
  if ttl > 0 then keepCountdown() end
  return { version, 0, resent, redelivered, table.concat(fresh), latest }
end
if ttl > 0 then for i = 1, #KEYS do redis.call('PERSIST', KEYS[i]) end end

-- Counts are added with one read and one write per 400 fields, not a call per field.
local fields, adds = {}, {}
for w = 1, #p.windows do
  for kind, byBucket in pairs(counts[w]) do
    local prefix = (w - 1) .. ':' .. kind .. ':'
    for bucket, n in pairs(byBucket) do
      fields[#fields + 1] = prefix .. bucket
      adds[#adds + 1] = n
    end
  end
end
for i = 1, #fields, 400 do
  local last = math.min(i + 399, #fields)
  local stored = redis.call('HMGET', KEYS[3], unpack(fields, i, last))
  local sums = {}
  for j = i, last do
    sums[#sums + 1] = fields[j]
    sums[#sums + 1] = (tonumber(stored[j - i + 1]) or 0) + adds[j]
  end
  redis.call('HSET', KEYS[3], unpack(sums))
end
for _, category in ipairs(categoryOrder) do redis.call('ZINCRBY', KEYS[5], fmt(categories[category]), category) end
-- Keep the p.categories most affine (a negative stop leaves a short set alone).
if #categoryOrder > 0 then redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -(p.categories + 1)) end
if next(recent) ~= nil then
  -- Write each item whose stamp is newer than the stored one; an equal time
  -- needs the stored eventId, read only for those.
  local members, ids, tied = {}, {}, {}
  local function flush()
    if #members > 0 then
      redis.call('ZADD', KEYS[4], unpack(members))
      redis.call('HSET', KEYS[7], unpack(ids))
    end
    members, ids = {}, {}
  end
  local function keep(item)
    local r = recent[item]
    members[#members + 1] = fmt(r.at)
    members[#members + 1] = item
    ids[#ids + 1] = item
    ids[#ids + 1] = r.id
    if #members >= 400 then flush() end
  end
  local items = {}
  for item in pairs(recent) do items[#items + 1] = item end
  for i = 1, #items, 400 do
    local chunk = { unpack(items, i, math.min(i + 399, #items)) }
    local scores = redis.call('ZMSCORE', KEYS[4], unpack(chunk))
    for j, item in ipairs(chunk) do
      local at = scores[j] and tonumber(scores[j]) or nil
      if at == nil or recent[item].at > at then keep(item)
      elseif recent[item].at == at then tied[#tied + 1] = item end
    end
  end
  if #tied > 0 then
    local stored = redis.call('HMGET', KEYS[7], unpack(tied))
    for j, item in ipairs(tied) do if recent[item].id > (stored[j] or '') then keep(item) end end
  end
  flush()
  -- Cut to the newest p.recent; a tie at the cut is settled by eventId, then item id.
  local extra = redis.call('ZCARD', KEYS[4]) - p.recent
  if extra > 0 then
    local flat = redis.call('ZRANGE', KEYS[4], 0, extra, 'WITHSCORES')
    local edge, kept = tonumber(flat[2 * extra]), tonumber(flat[2 * extra + 2])
    local cut = {}
    for i = 1, 2 * extra, 2 do
      if edge ~= kept or tonumber(flat[i + 1]) < edge then cut[#cut + 1] = flat[i] end
    end
    if edge == kept then
      local group = withIds(tiedAt(edge))
      table.sort(group, before)
      for i = #group, 1, -1 do
        if #cut >= extra then break end
        cut[#cut + 1] = group[i].item
      end
    end
    for i = 1, #cut, 400 do
      local part = { unpack(cut, i, math.min(i + 399, #cut)) }
      redis.call('ZREM', KEYS[4], unpack(part))
      redis.call('HDEL', KEYS[7], unpack(part))
    end
  end
end

-- Forget the ids recorded before the horizon and those beyond the cap: a prefix, since arrivals only grow.
do
  local all = seenIds .. table.concat(added)
  local count = #all / REC
  local lo, hi = 1, count + 1
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if secondsAt(all, mid) * 1000 < latestArrival - horizon then lo = mid + 1 else hi = mid end
  end
  local first = math.max(lo, count - p.seen + 1)
  -- SET, not APPEND: an appended string keeps spare room (up to its own size again) for the next append.
  if first > count then redis.call('DEL', KEYS[2])
  else redis.call('SET', KEYS[2], string.sub(all, (first - 1) * REC + 1)) end
end
if watermark > startWatermark then
  -- Buckets below a window's first live bucket are dead. Before this call none
  -- was below the old first live bucket, so only the buckets between the old
  -- and the new one can be: name them, or scan the hash when that is cheaper.
  local types = 0
  for _ in pairs(p.weights) do types = types + 1 end
  local names, jumped = 0, false
  for w = 1, #p.windows do
    local advanced = live[w] - firstLive(w, startWatermark)
    if advanced > p.windows[w][2] then jumped = true end
    names = names + types * advanced
  end
  local dead = {}
  if jumped or names > redis.call('HLEN', KEYS[3]) then
    for _, field in ipairs(redis.call('HKEYS', KEYS[3])) do
      local w, bucket = string.match(field, '^(%d+):[^:]+:(-?%d+)$')
      w = tonumber(w) + 1
      if p.windows[w] == nil or tonumber(bucket) < live[w] then dead[#dead + 1] = field end
    end
  else
    for w = 1, #p.windows do
      for b = firstLive(w, startWatermark), live[w] - 1 do
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
