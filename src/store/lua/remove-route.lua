-- Removes one route rule and moves the table's version, or changes nothing when there is no such
-- rule (RemoveRoute answers NOT_FOUND then, and a refused request must leave no trace).
--
-- KEYS[1] route rules hash, KEYS[2] route table version (the same slot)
-- ARGV[1] rule id
--
-- Returns the new version, or 0 when the rule did not exist
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
return redis.call('INCR', KEYS[2])
