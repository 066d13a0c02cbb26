-- Marks a version that was built but never made current as refused and frees its entries. An
-- activated version is left alone, whoever asks: it is, or may be again, what screening uses (two
-- officers rolling back to it at once must not have the loser delete it under the winner).
--
-- KEYS[1] current-version key, KEYS[2] the version's meta hash, KEYS[3] the version's entries hash
-- ARGV[1] the version
--
-- Returns 'refused' | 'kept'
if (redis.call('GET', KEYS[1]) or '0') == ARGV[1] or redis.call('HGET', KEYS[2], 'status') == 'activated' then
  return 'kept'
end
-- A meta already expired with its staging TTL stays gone: HSET would make it again, for good.
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'status', 'refused')
end
redis.call('UNLINK', KEYS[3])
return 'refused'
