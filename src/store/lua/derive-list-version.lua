-- Builds a new list version from an existing one with one entry added, replaced or removed, inside
-- Redis, so a one-entry change does not ship the whole list through the client.
--
-- KEYS[1] source entries hash (may be absent: an empty list), KEYS[2] new entries hash
-- ARGV[1] 'upsert' | 'remove'   ARGV[2] entry id   ARGV[3] entry JSON (upsert)
-- ARGV[4] staging TTL in milliseconds, until the new version is activated
--
-- Returns {'ok', entry count, the entry's JSON in the source or ''} | {'absent'} when removing an
-- id the source does not hold
local replaced = redis.call('HGET', KEYS[1], ARGV[2]) or ''
if ARGV[1] == 'remove' and replaced == '' then
  return {'absent'}
end
local cursor = '0'
repeat
  local page = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', 1000)
  cursor = page[1]
  if #page[2] > 0 then
    redis.call('HSET', KEYS[2], unpack(page[2]))
  end
until cursor == '0'
if ARGV[1] == 'upsert' then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
else
  redis.call('HDEL', KEYS[2], ARGV[2])
end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {'ok', redis.call('HLEN', KEYS[2]), replaced}
