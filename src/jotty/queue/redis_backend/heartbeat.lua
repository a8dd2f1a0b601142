-- A running task is alive. ARGV: P, stamp, id, lease id ('' = not fenced), new lease expiry,
-- progress ('' = unchanged). Returns 1, or 0 if the task is not running (under that lease).
local id, lease, expires, progress = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local v = redis.call('HMGET', tkey(id), 'status', 'lease_id')
if v[1] ~= 'in_progress' or (lease ~= '' and v[2] ~= lease) then return 0 end
local sets, dels = {'last_heartbeat', STAMP}, {}
if v[2] then
  table.insert(sets, 'lease_expires_at'); table.insert(sets, expires)
else
  table.insert(dels, 'lease_expires_at')
end
if progress ~= '' then table.insert(sets, 'progress_percent'); table.insert(sets, progress) end
change(id, sets, dels)
return 1
