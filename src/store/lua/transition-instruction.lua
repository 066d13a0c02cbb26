-- Moves an instruction to a new state if it is still in one of the expected states, appending the
-- status event (and the outbox entry, when the new state is to be delivered) in the same step, so a
-- state change is never half-recorded and two racing deciders cannot both win. A dispatcher passes
-- the outbox entry it is settling, which is acknowledged in the same step: the entry stays pending
-- (and is claimed again after a crash) until the state change that ends it is durable.
--
-- KEYS[1] record hash, KEYS[2] status event stream, KEYS[3] partition outbox stream,
-- KEYS[4] partition holds (sorted set), KEYS[5] officers who released the instruction (set),
-- KEYS[6] partition open instructions (sorted set), KEYS[7] partition failed instructions (sorted set),
-- KEYS[8] partition recently changed instructions (sorted set: UETR by last change),
-- KEYS[9] partition trace index (sorted set of "<trace id>:<uetr>", all scored 0),
-- KEYS[10] partition audit entries pending (hash: id → JSON)
-- ARGV[1] expected current states, comma-separated   ARGV[2] new state   ARGV[3] ISO status
-- ARGV[4] reason code   ARGV[5] reason description   ARGV[6] now (ms)   ARGV[7] trace id
-- ARGV[8] '1' to enqueue for delivery   ARGV[9] uetr   ARGV[10] pub/sub channel
-- ARGV[11] trace context for the outbox (W3C traceparent)
-- ARGV[12] new screening evidence (JSON), or '' to keep the stored one; new evidence also records
--          which status change it decided (screened_seq), so an explanation places it right
-- ARGV[13] outbox consumer group and ARGV[14] outbox entry id to acknowledge, or '' for none
-- ARGV[15] '1' to refuse an accepted instruction once any delivery attempt of it has started, before
--          a replay too (re-screening must not overturn a transfer the counterparty may already hold;
--          an attempt that timed out may have delivered it)
-- ARGV[16] how many instructions the recency index keeps (the oldest changes are trimmed)
-- ARGV[17] the trace id to index, or '' when it is not a valid one
-- ARGV[18] '1' to refuse unless the stored screening evidence is still ARGV[19] (a decision taken
--          on the evidence read must not land after re-screening replaced it)
-- ARGV[20] the change's audit entry id and ARGV[21] its JSON, left pending with the change, or ''
-- ARGV[22] '1' when the delivery's attempts ran out: a stop requested meanwhile (request-delivery-stop)
--          gives the reason instead of ARGV[4] and ARGV[5], since no later attempt will see it
--
-- Returns {'ok', seq} | {'ok', seq, stop reason JSON} when ARGV[22] applied one | {'missing'} |
--         {'stale', current state} | {'in-delivery'}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  return {'missing'}
end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == state then allowed = true end
end
if not allowed then
  return {'stale', state}
end
if ARGV[18] == '1' and (redis.call('HGET', KEYS[1], 'screening') or '') ~= ARGV[19] then
  return {'stale', state}
end
if ARGV[15] == '1' and state == 'ACCEPTED'
    and tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0') > 0 then
  return {'in-delivery'}
end
local code, desc = ARGV[4], ARGV[5]
local stop = false
if ARGV[22] == '1' then
  stop = redis.call('HGET', KEYS[1], 'stop_requested')
  if stop then
    local reason = cjson.decode(stop)
    code, desc = reason.code, reason.description
  end
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'iso', ARGV[3], 'code', code, 'desc', desc,
  'updated_at', ARGV[6])
redis.call('HDEL', KEYS[1], 'delivering', 'stop_requested')
if ARGV[12] ~= '' then
  redis.call('HSET', KEYS[1], 'screening', ARGV[12], 'screened_seq', seq)
end
redis.call('XADD', KEYS[2], '*', 'seq', seq, 'state', ARGV[2], 'iso', ARGV[3], 'code', code,
  'desc', desc, 'at', ARGV[6], 'trace', ARGV[7])
if ARGV[8] == '1' then
  redis.call('XADD', KEYS[3], '*', 'uetr', ARGV[9], 'traceparent', ARGV[11])
end
if ARGV[13] ~= '' then
  redis.call('XACK', KEYS[3], ARGV[13], ARGV[14])
end
if ARGV[2] == 'HELD_FOR_REVIEW' then
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[9])
  redis.call('DEL', KEYS[5])
elseif state == 'HELD_FOR_REVIEW' then
  redis.call('ZREM', KEYS[4], ARGV[9])
end
if ARGV[2] == 'HELD_FOR_REVIEW' or ARGV[2] == 'ACCEPTED' then
  redis.call('ZADD', KEYS[6], ARGV[6], ARGV[9])
else
  redis.call('ZREM', KEYS[6], ARGV[9])
end
if ARGV[2] == 'FAILED' then
  redis.call('ZADD', KEYS[7], ARGV[6], ARGV[9])
elseif state == 'FAILED' then
  redis.call('ZREM', KEYS[7], ARGV[9])
end
redis.call('ZADD', KEYS[8], ARGV[6], ARGV[9])
redis.call('ZREMRANGEBYRANK', KEYS[8], 0, -(tonumber(ARGV[16]) + 1))
if ARGV[17] ~= '' then
  redis.call('ZADD', KEYS[9], 0, ARGV[17] .. ':' .. ARGV[9])
end
if ARGV[20] ~= '' then
  redis.call('HSET', KEYS[10], ARGV[20], ARGV[21])
end
redis.call('PUBLISH', ARGV[10], ARGV[9])
if stop then
  return {'ok', seq, stop}
end
return {'ok', seq}
