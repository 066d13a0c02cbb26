-- Puts or removes one route rule and moves the table's version, if the version is still the one
-- the caller read: the caller wrote the version this change makes, and whether it adds or
-- replaces a rule, into the change's audit entry, which is left pending here with the change.
-- Removing a rule that does not exist changes nothing (RemoveRoute answers NOT_FOUND then, and a
-- refused request must leave no trace).
--
-- KEYS[1] route rules hash, KEYS[2] route table version, KEYS[3] audit entries pending (one slot)
-- ARGV[1] expected version ('0' for none)   ARGV[2] rule id   ARGV[3] the rule's JSON, or '' to remove
-- ARGV[4] the audit entry id   ARGV[5] its JSON, or '' for none
--
-- Returns {'ok', new version} | {'moved'} | {'absent'}
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then
  return {'moved'}
end
if ARGV[3] == '' then
  if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then
    return {'absent'}
  end
else
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
end
local version = redis.call('INCR', KEYS[2])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
end
return {'ok', version}
