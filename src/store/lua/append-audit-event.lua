-- Appends one event to the hash-chained audit log if the head is still the one the caller chained
-- it to, so two concurrent appends (from any replica) cannot both extend the same head and fork the
-- chain. The caller computes the SHA-256 link (Lua in Redis has none) and retries on 'moved'.
-- An event is written once: the change that made it left it pending under an id, and the gateway
-- that committed the change and any gateway sweeping pending entries may both try to write it.
--
-- KEYS[1] head (hash: seq, hash of the last event)   KEYS[2] log (stream)
-- KEYS[3] the event's written-marker (string: its sequence)   (one slot: {audit})
-- ARGV[1] expected head sequence ('0' for an empty log)   ARGV[2] expected head hash ('' when empty)
-- ARGV[3] sequence   ARGV[4] at (ms)   ARGV[5] actor   ARGV[6] action   ARGV[7] subject
-- ARGV[8] details (JSON)   ARGV[9] this event's hash   ARGV[10] how long the marker is kept (ms)
--
-- The stream id is '<sequence>-0', so a reader asking for events after a sequence starts there
-- instead of scanning the log from its beginning.
--
-- Returns {'ok'} | {'moved'} | {'written', sequence}
local written = redis.call('GET', KEYS[3])
if written then
  return {'written', written}
end
local head = redis.call('HMGET', KEYS[1], 'seq', 'hash')
if (head[1] or '0') ~= ARGV[1] or (head[2] or '') ~= ARGV[2] then
  return {'moved'}
end
redis.call('XADD', KEYS[2], ARGV[3] .. '-0', 'seq', ARGV[3], 'at', ARGV[4], 'actor', ARGV[5], 'action', ARGV[6],
  'subject', ARGV[7], 'details', ARGV[8], 'prev', ARGV[2], 'hash', ARGV[9])
redis.call('HSET', KEYS[1], 'seq', ARGV[3], 'hash', ARGV[9])
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[10])
return {'ok'}
