-- Store new tasks. ARGV: P, stamp, actor, day (YYYYMMDD), then per task: id ('' = generate one),
-- a count and field/value pairs. Returns the ids, or {'duplicate', id}.
local actor, day = ARGV[3], ARGV[4]
local tasks, i = {}, 5
while i <= #ARGV do
  local id = ARGV[i]
  local fields, next_i = take(i + 1)
  table.insert(tasks, {id, fields})
  i = next_i
end
for _, t in ipairs(tasks) do
  if t[1] ~= '' and redis.call('EXISTS', tkey(t[1])) == 1 then return {'duplicate', t[1]} end
end
local counter = P .. 'ids:' .. day
local prefix = 'TASK-' .. day .. '-'
-- Explicit ids of today's form move the counter past them, so generated ids never collide.
for _, t in ipairs(tasks) do
  if t[1] ~= '' and string.sub(t[1], 1, #prefix) == prefix then
    local number = tonumber(string.match(string.sub(t[1], #prefix + 1), '^%d+$') or '')
    if number and number > tonumber(redis.call('GET', counter) or '0') then redis.call('SET', counter, number) end
  end
end
local ids, parents = {}, {}
for _, t in ipairs(tasks) do
  local id = t[1]
  if id == '' then
    repeat
      id = prefix .. string.format('%05d', redis.call('INCR', counter))
    until redis.call('EXISTS', tkey(id)) == 0
    redis.call('EXPIRE', counter, 172800)
  end
  redis.call('HSET', tkey(id), 'task_id', id, unpack(t[2]))
  index(id)
  link(id)
  log(id, nil, redis.call('HGET', tkey(id), 'status'), actor, 'created')
  local parent = redis.call('HGET', tkey(id), 'parent_id')
  if parent then parents[parent] = true end
  table.insert(ids, id)
end
for parent in pairs(parents) do roll_up(parent) end
wake()
return ids
