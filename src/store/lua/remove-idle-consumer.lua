-- Removes a consumer from the dispatch group only if it holds no pending entry, checked in the
-- same step: DELCONSUMER drops a consumer's pending entries with it, and an entry dropped from the
-- pending list would be neither redelivered nor taken over — a settlement never delivered.
--
-- KEYS[1] the partition's outbox stream   ARGV[1] group   ARGV[2] consumer
-- Returns 1 if removed, 0 if it holds entries (or is already gone).
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #pending > 0 then
  return 0
end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2]) >= 0 and 1 or 0
