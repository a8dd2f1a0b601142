-- Apply failure plans (computed by jotty.queue.policy.plan_failure from the values the caller
-- read) to tasks that are still as read. ARGV: P, stamp, now, reap ('1': the lease must also have
-- expired before now), then per task: id, lease id read ('' = none), retry_count read,
-- max_retries read, new status, new retry_count, run_after ('' = none), error, actor, reason.
-- Returns per task: 1 applied, 0 no longer running under that lease, 2 counts changed (plan again).
local now, reap = tonumber(ARGV[3]), ARGV[4] == '1'
local out = {}
for i = 5, #ARGV, 10 do
  local id, lease, retries, max_retries = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local status, new_retries, run_after = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local err, actor, reason = ARGV[i + 7], ARGV[i + 8], ARGV[i + 9]
  local v = redis.call('HMGET', tkey(id), 'status', 'lease_id', 'retry_count', 'max_retries', 'lease_expires_at')
  if v[1] ~= 'in_progress' or (v[2] or '') ~= lease
     or (reap and not (v[5] and tonumber(v[5]) < now)) then
    table.insert(out, 0)
  elseif (v[3] or '') ~= retries or (v[4] or '') ~= max_retries then
    table.insert(out, 2)
  else
    local sets = {'status', status, 'error_message', err, 'retry_count', new_retries}
    local dels = {'pid', 'lease_id', 'lease_owner', 'lease_expires_at'}
    if run_after ~= '' then
      table.insert(sets, 'run_after'); table.insert(sets, run_after)
    else
      table.insert(dels, 'run_after')
    end
    if status == 'failed' then table.insert(sets, 'completed_at'); table.insert(sets, STAMP) end
    change(id, sets, dels)
    after_status(id, 'in_progress', status, actor, reason)
    if status == 'pending' then wake() end
    table.insert(out, 1)
  end
end
return out
