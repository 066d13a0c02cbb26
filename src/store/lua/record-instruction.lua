-- Records a new instruction, or answers for one already recorded: the idempotency check, the record,
-- its first status events and the outbox entry happen together or not at all.
--
-- KEYS[1] record hash, KEYS[2] status event stream, KEYS[3] partition outbox stream,
-- KEYS[4] partition holds (sorted set), KEYS[5] partition open instructions (sorted set: held or
-- accepted and not yet delivered, the ones a list change must screen again), KEYS[6] partition
-- recently changed instructions (sorted set: UETR by last change), KEYS[7] partition trace index
-- (sorted set of "<trace id>:<uetr>", all scored 0, looked up by lex range)
-- ARGV[1] canonical body hash      ARGV[2] body (proto JSON)     ARGV[3] participant BIC
-- ARGV[4] trace id                 ARGV[5] now (ms)              ARGV[6] outcome state
-- ARGV[7] outcome ISO status       ARGV[8] reason code           ARGV[9] reason description
-- ARGV[10] '1' to enqueue for delivery   ARGV[11] uetr   ARGV[12] pub/sub channel
-- ARGV[13] trace context for the outbox (W3C traceparent)   ARGV[14] screening decision (JSON)
-- ARGV[15] how many instructions the recency index keeps (the oldest changes are trimmed)
-- ARGV[16] the trace id to index, or '' when it is not a valid one (an absent trace must not
--          gather every instruction under one index entry)
--
-- Returns {'created'} | {'replay', participant, state, iso, code, description, trace id}
--       | {'conflict', participant}
local existing = redis.call('HGET', KEYS[1], 'hash')
if existing then
  local r = redis.call('HMGET', KEYS[1], 'participant', 'answer_state', 'answer_iso', 'answer_code',
    'answer_desc', 'trace_id')
  if existing == ARGV[1] then
    -- A write, though the answer is only read: a gateway that waits for replicas (WAIT) after this
    -- script then knows they hold everything up to here, the first submission's write included.
    redis.call('HINCRBY', KEYS[1], 'replays', 1)
    return {'replay', r[1], r[2], r[3], r[4], r[5], r[6]}
  end
  return {'conflict', r[1]}
end

local now = ARGV[5]
redis.call('HSET', KEYS[1],
  'hash', ARGV[1], 'body', ARGV[2], 'participant', ARGV[3], 'trace_id', ARGV[4],
  'created_at', now, 'updated_at', now,
  'state', ARGV[6], 'iso', ARGV[7], 'code', ARGV[8], 'desc', ARGV[9], 'seq', 2,
  'answer_state', ARGV[6], 'answer_iso', ARGV[7], 'answer_code', ARGV[8], 'answer_desc', ARGV[9],
  'screening', ARGV[14], 'screened_seq', 2)
redis.call('XADD', KEYS[2], '*', 'seq', 1, 'state', 'RECEIVED', 'iso', 'RCVD', 'code', '',
  'desc', '', 'at', now, 'trace', ARGV[4])
redis.call('XADD', KEYS[2], '*', 'seq', 2, 'state', ARGV[6], 'iso', ARGV[7], 'code', ARGV[8],
  'desc', ARGV[9], 'at', now, 'trace', ARGV[4])
if ARGV[10] == '1' then
  redis.call('XADD', KEYS[3], '*', 'uetr', ARGV[11], 'traceparent', ARGV[13])
end
if ARGV[6] == 'HELD_FOR_REVIEW' then
  redis.call('ZADD', KEYS[4], now, ARGV[11])
end
if ARGV[6] == 'HELD_FOR_REVIEW' or ARGV[6] == 'ACCEPTED' then
  redis.call('ZADD', KEYS[5], now, ARGV[11])
end
redis.call('ZADD', KEYS[6], now, ARGV[11])
redis.call('ZREMRANGEBYRANK', KEYS[6], 0, -(tonumber(ARGV[15]) + 1))
if ARGV[16] ~= '' then
  redis.call('ZADD', KEYS[7], 0, ARGV[16] .. ':' .. ARGV[11])
end
redis.call('PUBLISH', ARGV[12], ARGV[11])
return {'created'}
