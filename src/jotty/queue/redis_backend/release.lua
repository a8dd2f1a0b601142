-- Give a claimed task back to pending at once. ARGV: P, stamp, id, lease id, reason. Returns 1 or 0.
local id, lease, reason = ARGV[3], ARGV[4], ARGV[5]
local v = redis.call('HMGET', tkey(id), 'status', 'lease_id', 'lease_owner')
if v[1] ~= 'in_progress' or v[2] ~= lease then return 0 end
change(id, {'status', 'pending'}, {'pid', 'lease_id', 'lease_owner', 'lease_expires_at', 'run_after'})
after_status(id, 'in_progress', 'pending', v[3] or nil, reason)
wake()
return 1
