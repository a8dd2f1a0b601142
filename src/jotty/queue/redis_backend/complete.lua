-- Complete tasks whose lease is still held. ARGV: P, stamp, now (epoch of stamp), actor, then per
-- task: id, lease id, has result ('1'/'0'), result JSON. Returns 1 (completed) or 0 (lease lost) each.
local now, actor = tonumber(ARGV[3]), ARGV[4]
local out = {}
for i = 5, #ARGV, 4 do
  local id, lease, has_result, result = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local v = redis.call('HMGET', tkey(id), 'status', 'lease_id', 'started_at')
  if v[1] == 'in_progress' and v[2] == lease then
    local sets = {'status', 'completed', 'completed_at', STAMP, 'progress_percent', '100'}
    local dels = {'pid', 'lease_id', 'lease_owner', 'lease_expires_at', 'error_message'}
    if has_result == '1' then
      table.insert(sets, 'result'); table.insert(sets, result)
    else
      table.insert(dels, 'result')
    end
    local started = epoch_of(v[3])
    if started then
      table.insert(sets, 'actual_hours'); table.insert(sets, string.format('%.17g', (now - started) / 3600))
    else
      table.insert(dels, 'actual_hours')
    end
    change(id, sets, dels)
    after_status(id, 'in_progress', 'completed', actor, 'completed')
    table.insert(out, 1)
  else
    table.insert(out, 0)
  end
end
return out
