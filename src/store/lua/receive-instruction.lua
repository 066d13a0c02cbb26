-- The reference receiver's deduplication: counts every delivery of a UETR, records the first one
-- with its answer, and hands every later one the recorded answer. One script, so concurrent
-- deliveries of one UETR cannot both be taken for the first.
--
-- KEYS[1] received (hash: uetr → answer JSON)   KEYS[2] receipts (stream of first deliveries)
-- KEYS[3] deliveries (hash: uetr → deliveries so far)
-- ARGV[1] uetr   ARGV[2] attempt   ARGV[3] now (ms)
-- ARGV[4] '1' to accept, '0' to refuse   ARGV[5] reason code   ARGV[6] reason description
--   (the answer for a first delivery; ignored once the UETR has one)
--
-- Returns {'first' | 'repeat', answer JSON, deliveries of this UETR including this one}
local deliveries = redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if stored then
  return {'repeat', stored, deliveries}
end
local answer = cjson.encode({accepted = ARGV[4] == '1', code = ARGV[5], description = ARGV[6]})
redis.call('HSET', KEYS[1], ARGV[1], answer)
redis.call('XADD', KEYS[2], '*', 'uetr', ARGV[1], 'attempt', ARGV[2], 'at', ARGV[3],
  'accepted', ARGV[4], 'code', ARGV[5])
return {'first', answer, deliveries}
