-- Frees the entries of old versions in the same step that reads the current pointer, so a rollback
-- to one of them that lands while pruning runs is either seen (and that version kept) or comes
-- after (and finds the entries gone, which activation refuses).
--
-- KEYS[1] current-version key, KEYS[2..n] the entries hashes of the versions to free
-- ARGV[1..n-1] those versions, in the same order
--
-- Returns how many were freed
local current = redis.call('GET', KEYS[1]) or '0'
local freed = 0
for i = 2, #KEYS do
  if ARGV[i - 1] ~= current then
    freed = freed + redis.call('UNLINK', KEYS[i])
  end
end
return freed
