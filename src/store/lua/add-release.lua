-- Records an officer's release of a held instruction, if it is still held on the evidence the
-- officer decided on: re-screening may hold it again on new hits (voiding the releases so far)
-- between the officer's read and this step, and an approval of the old evidence must not count
-- towards releasing the new.
--
-- KEYS[1] record hash, KEYS[2] officers who released it (set), KEYS[3] partition audit entries
-- pending (hash: id → JSON)
-- ARGV[1] officer   ARGV[2] the screening evidence (JSON) the officer decided on
-- ARGV[3] the approval's audit entry id and ARGV[4] its JSON, left pending with it, or ''
--
-- Returns {'ok', officer...} | {'missing'} | {'stale', state}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  return {'missing'}
end
if state ~= 'HELD_FOR_REVIEW' or (redis.call('HGET', KEYS[1], 'screening') or '') ~= ARGV[2] then
  return {'stale', state}
end
redis.call('SADD', KEYS[2], ARGV[1])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
end
local reply = redis.call('SMEMBERS', KEYS[2])
table.insert(reply, 1, 'ok')
return reply
