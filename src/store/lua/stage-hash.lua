-- Writes fields of a hash that belongs to a list version still being built, and (re)sets the
-- version's staging TTL in the same step, so the hash never exists without one: an import whose
-- process dies before the activation leaves keys that expire, not keys nothing will ever find.
-- Activation (activate-list-version.lua) removes the TTL.
--
-- KEYS[1] the hash (a version's entries or meta)
-- ARGV[1] TTL in milliseconds   ARGV[2..] field, value, field, value, ...
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('HLEN', KEYS[1])
