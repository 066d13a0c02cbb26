-- Asks the dispatcher delivering an accepted instruction to make no further attempt: re-screening
-- found a new hit after an attempt had started, so the instruction can no longer be stopped
-- outright (the counterparty may hold it), but it must not be sent again. start-delivery-attempt
-- answers 'stopped' from then on, and a delivery whose attempts ran out meanwhile is settled with
-- this reason (transition-instruction, ARGV[22]); any state change clears the request.
--
-- KEYS[1] record hash
-- ARGV[1] the reason (JSON {code, description})
--
-- Returns 1 when asked, 0 when the instruction is no longer accepted (settled meanwhile)
if redis.call('HGET', KEYS[1], 'state') ~= 'ACCEPTED' then
  return 0
end
redis.call('HSET', KEYS[1], 'stop_requested', ARGV[1])
return 1
