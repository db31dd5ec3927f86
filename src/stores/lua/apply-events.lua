--[[
  Applies one user's events atomically. Mirrors src/features/apply.ts step for
  step: dedupe by eventId, refuse late events, add to the decayed score, the
  live window buckets, the last-activity and last-viewed stamps, recent items
  and category affinities; then cut recent items, prune ids and buckets behind
  the watermark and bump the version once if anything was applied.

  KEYS[1]  state hash           KEYS[2]  seen zset (eventId -> occurredAt)
  KEYS[3]  bucket hash          KEYS[4]  recent zset (itemId -> occurredAt)
  KEYS[5]  category zset (category -> affinity scaled to the epoch)
  All five share the user's hash tag, so the script is Redis Cluster safe.

  ARGV[1] now (epoch ms)     ARGV[2] half-life ms     ARGV[3] dedupe horizon ms
  ARGV[4] affinity epoch ms  ARGV[5] recent items to keep
  ARGV[6] W, the number of windows, then W pairs: bucket width ms, buckets per window
  then T, the number of weights, then T pairs: activity type, weight
  then the events, five values each: eventId, type, itemId or '', category or '', occurredAt

  Returns { version, applied, duplicates, late }.
]]
local function fmt(x) return string.format('%.17g', x) end

local now = tonumber(ARGV[1])
local halfLife = tonumber(ARGV[2])
local horizon = tonumber(ARGV[3])
local epoch = tonumber(ARGV[4])
local recentMax = tonumber(ARGV[5])

local a = 6
local widths, spans = {}, {}
for w = 1, tonumber(ARGV[a]) do
  widths[w] = tonumber(ARGV[a + 2 * w - 1])
  spans[w] = tonumber(ARGV[a + 2 * w])
end
a = a + 2 * #widths + 1
local weights = {}
for t = 1, tonumber(ARGV[a]) do
  weights[ARGV[a + 2 * t - 1]] = tonumber(ARGV[a + 2 * t])
end
a = a + 2 * tonumber(ARGV[a]) + 1

local s = redis.call('HMGET', KEYS[1], 'version', 'watermark', 'scoreSum', 'scoreRefTime',
  'laAt', 'laId', 'laType', 'lvAt', 'lvId', 'lvItem')
local version = tonumber(s[1]) or 0
local watermark = tonumber(s[2]) or 0
local sum = tonumber(s[3]) or 0
local ref = tonumber(s[4]) or 0
local la = { at = tonumber(s[5]), id = s[6], type = s[7] }
local lv = { at = tonumber(s[8]), id = s[9], item = s[10] }

local function newer(at, id, cur)
  if cur.at == nil then return true end
  if at ~= cur.at then return at > cur.at end
  return id > cur.id
end
local function firstLive(w, at) return math.floor(at / widths[w]) - spans[w] + 1 end

local applied, duplicates, late = 0, 0, 0
local increments = {}
for e = a, #ARGV, 5 do
  local id, kind, item, category, at = ARGV[e], ARGV[e + 1], ARGV[e + 2], ARGV[e + 3], tonumber(ARGV[e + 4])
  if redis.call('ZSCORE', KEYS[2], id) then
    duplicates = duplicates + 1
  elseif at < watermark - horizon then
    late = late + 1
  else
    applied = applied + 1
    redis.call('ZADD', KEYS[2], at, id)
    if at > watermark then watermark = at end
    local weight = weights[kind]

    local newRef = math.max(ref, at)
    local carried = 0
    if sum ~= 0 then carried = sum * 2 ^ (-(newRef - ref) / halfLife) end
    sum = carried + weight * 2 ^ (-(newRef - at) / halfLife)
    ref = newRef

    if newer(at, id, la) then la = { at = at, id = id, type = kind } end
    if kind == 'VIEW' and item ~= '' and newer(at, id, lv) then lv = { at = at, id = id, item = item } end

    for w = 1, #widths do
      local bucket = math.floor(at / widths[w])
      if bucket >= firstLive(w, watermark) then
        local field = (w - 1) .. ':' .. kind .. ':' .. bucket
        increments[field] = (increments[field] or 0) + 1
      end
    end
    if item ~= '' then redis.call('ZADD', KEYS[4], 'GT', at, item) end
    if category ~= '' then
      redis.call('ZINCRBY', KEYS[5], fmt(weight * 2 ^ ((at - epoch) / halfLife)), category)
    end
  end
end

if applied == 0 then return { version, 0, duplicates, late } end

for field, n in pairs(increments) do redis.call('HINCRBY', KEYS[3], field, n) end
for _, field in ipairs(redis.call('HKEYS', KEYS[3])) do
  local w, bucket = string.match(field, '^(%d+):[^:]+:(-?%d+)$')
  w = tonumber(w) + 1
  if widths[w] == nil or tonumber(bucket) < firstLive(w, watermark) then redis.call('HDEL', KEYS[3], field) end
end
local extra = redis.call('ZCARD', KEYS[4]) - recentMax
if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[4], 0, extra - 1) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. fmt(watermark - horizon))

version = version + 1
redis.call('HSET', KEYS[1], 'version', version, 'updatedAt', fmt(now), 'watermark', fmt(watermark),
  'scoreSum', fmt(sum), 'scoreRefTime', fmt(ref),
  'laAt', fmt(la.at), 'laId', la.id, 'laType', la.type)
if lv.at ~= nil then redis.call('HSET', KEYS[1], 'lvAt', fmt(lv.at), 'lvId', lv.id, 'lvItem', lv.item) end
return { version, applied, duplicates, late }
