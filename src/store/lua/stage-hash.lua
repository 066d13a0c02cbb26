-- Writes fields of a hash that belongs to a list version still being built, and (re)sets the
-- version's staging TTL in the same step, so the hash never exists without one: an import whose
-- process dies before the activation leaves keys that expire, not keys nothing will ever find.
-- Activation (activate-list-version.lua) removes the TTL.
--
-- A build writes in batches and says how many fields the hash held after its last one. Should the
-- TTL run out between two batches, the next batch would start a new hash holding only the later
-- entries, and the version would be activated with them alone; instead nothing is written.
--
-- KEYS[1] the hash (a version's entries or meta)
-- ARGV[1] TTL in milliseconds   ARGV[2] fields the hash holds before this write
-- ARGV[3..] field, value, field, value, ...
--
-- Returns the fields the hash holds after the write, or -1 (nothing written) when it did not hold
-- ARGV[2] before
if redis.call('HLEN', KEYS[1]) ~= tonumber(ARGV[2]) then
  return -1
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('HLEN', KEYS[1])
