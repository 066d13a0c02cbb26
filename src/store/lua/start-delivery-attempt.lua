-- Starts a delivery attempt of an accepted instruction: counts it and marks the delivery as under
-- way, so that the attempt number a receiver sees only grows (across dispatcher crashes and
-- replays) and re-screening no longer overturns the instruction once it may have left.
--
-- KEYS[1] record hash
-- ARGV[1] counterparty name   ARGV[2] now (ms)
--
-- Returns {'ok', attempt} | {'missing'} | {'stale', current state} | {'stopped', reason JSON}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  return {'missing'}
end
if state ~= 'ACCEPTED' then
  return {'stale', state}
end
local stop = redis.call('HGET', KEYS[1], 'stop_requested')
if stop then
  return {'stopped', stop}
end
local attempt = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'delivering', '1', 'counterparty', ARGV[1], 'attempted_at', ARGV[2])
return {'ok', attempt}
