-- Delete a task and its history. ARGV: P, stamp, id. Returns 1, or 0 if there is no such task.
local id = ARGV[3]
if redis.call('EXISTS', tkey(id)) == 0 then return 0 end
local parent = redis.call('HGET', tkey(id), 'parent_id')
unindex(id)
unlink(id)
redis.call('DEL', tkey(id), P .. 'h:' .. id)
roll_up(parent or nil)
return 1
