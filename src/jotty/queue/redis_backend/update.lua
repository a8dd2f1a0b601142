-- Unfenced column updates, with a status change when a status is given. ARGV: P, stamp, id,
-- status ('' = keep), actor, has reason ('1'/'0'), reason, then a count and field/value pairs to
-- set, then a count and fields to clear. Returns 1, or 0 if there is no such task.
local id, status, actor, reason = ARGV[3], ARGV[4], ARGV[5], nil
if ARGV[6] == '1' then reason = ARGV[7] end
local sets, i = take(8)
local dels = take(i)
local before = redis.call('HGET', tkey(id), 'status')
if not before then return 0 end
if status ~= '' then
  if status == 'in_progress' and before ~= 'in_progress' then
    table.insert(sets, 'started_at'); table.insert(sets, STAMP)
  end
  table.insert(sets, 'status'); table.insert(sets, status)
end
unlink(id)
change(id, sets, dels)
link(id)
if status ~= '' then
  if before ~= status then
    after_status(id, before, status, actor, reason)
  else
    roll_up(redis.call('HGET', tkey(id), 'parent_id') or nil)
  end
  if status == 'pending' then wake() end
end
return 1
