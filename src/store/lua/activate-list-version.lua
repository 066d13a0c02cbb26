-- Makes a list version current if the current version is still the one the caller saw, so two
-- officers' concurrent imports or rollbacks cannot silently overwrite each other.
--
-- KEYS[1] current-version key, KEYS[2] versions (sorted set), KEYS[3] the version's meta hash,
-- KEYS[4] the version's entries hash, KEYS[5] the list's audit entries pending (hash: id → JSON)
-- ARGV[1] expected current version ('0' for none)   ARGV[2] new version   ARGV[3] channel
-- ARGV[4] list name   ARGV[5] the change's audit entry id and ARGV[6] its JSON, left pending with it, or ''
--
-- Returns {'ok'} | {'moved', current} | {'missing'}
local current = redis.call('GET', KEYS[1]) or '0'
if current ~= ARGV[1] then
  return {'moved', current}
end
if redis.call('EXISTS', KEYS[3]) == 0 then
  return {'missing'}
end
-- A version with entries whose hash is gone (its staging TTL ran out, or it was pruned) would
-- screen against nothing.
if tonumber(redis.call('HGET', KEYS[3], 'count') or '0') > 0 and redis.call('EXISTS', KEYS[4]) == 0 then
  return {'missing'}
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
redis.call('HSET', KEYS[3], 'status', 'activated')
-- Built versions carry a staging TTL (stage-hash.lua); a current one must never expire.
redis.call('PERSIST', KEYS[3])
redis.call('PERSIST', KEYS[4])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[5], ARGV[5], ARGV[6])
end
redis.call('PUBLISH', ARGV[3], cjson.encode({list = ARGV[4], version = tonumber(ARGV[2])}))
return {'ok'}
