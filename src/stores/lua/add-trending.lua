--[[
  Adds popularity to the trending list. Scores are kept scaled up to an epoch
  (score = Σ w·2^((at − epoch)/halfLife)), so adding never touches other
  items; far from the epoch every score is rescaled once to a new one.

  KEYS[1]  trending zset (itemId -> scaled popularity)
  KEYS[2]  epoch (epoch ms) of the scaling
  Both share the {trending} hash tag.
  ARGV[1]  half-life (ms)   ARGV[2] items kept   ARGV[3] refTime (ms)
  ARGV[4]  half-lives from the epoch that trigger a rescale
  ARGV[5..] itemId, popularity scaled to refTime, ...

  Returns the epoch in use.
]]
local halfLife, size, refTime, rebaseAt = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local epoch = tonumber(redis.call('GET', KEYS[2]))
if epoch == nil then
  epoch = refTime
  redis.call('SET', KEYS[2], string.format('%.17g', epoch))
end
local exponent = (refTime - epoch) / halfLife
if exponent > rebaseAt then
  local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  local factor = 2 ^ (-exponent)
  for i = 1, #all, 2 do redis.call('ZADD', KEYS[1], string.format('%.17g', tonumber(all[i + 1]) * factor), all[i]) end
  epoch = refTime
  exponent = 0
  redis.call('SET', KEYS[2], string.format('%.17g', epoch))
end
local scale = 2 ^ exponent
for i = 5, #ARGV, 2 do redis.call('ZINCRBY', KEYS[1], string.format('%.17g', tonumber(ARGV[i + 1]) * scale), ARGV[i]) end
local extra = redis.call('ZCARD', KEYS[1]) - size
if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1) end
return epoch
