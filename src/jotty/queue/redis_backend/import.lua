-- Store exported tasks, history and templates as they are. ARGV: P, stamp, replace ('1'/'0'),
-- task count, then per task: a count and field/value pairs (task_id first); history count, then
-- per entry: task id and its JSON; template count, then name/JSON pairs.
-- Returns {'ok'} or {'clash', count, first id}.
local replace = ARGV[3] == '1'
local tasks, i = {}, 5
for k = 1, tonumber(ARGV[4]) do
  local fields, next_i = take(i)
  tasks[k] = fields
  i = next_i
end
local clash = {}
for _, fields in ipairs(tasks) do
  if redis.call('EXISTS', tkey(fields[2])) == 1 then table.insert(clash, fields[2]) end
end
if #clash > 0 and not replace then return {'clash', #clash, clash[1]} end
for _, id in ipairs(clash) do
  unindex(id)
  unlink(id)
  redis.call('DEL', tkey(id))
end
for _, fields in ipairs(tasks) do
  local id = fields[2]
  redis.call('DEL', P .. 'h:' .. id)
  redis.call('HSET', tkey(id), unpack(fields))
  index(id)
  link(id)
  local day, number = string.match(id, '^TASK%-(%d%d%d%d%d%d%d%d)%-(%d+)$')
  if day and tonumber(number) > tonumber(redis.call('GET', P .. 'ids:' .. day) or '0') then
    redis.call('SET', P .. 'ids:' .. day, number, 'EX', 172800)
  end
end
local entries
entries, i = take(i)
for k = 1, #entries, 2 do redis.call('RPUSH', P .. 'h:' .. entries[k], entries[k + 1]) end
local templates = take(i)
for k = 1, #templates, 2 do redis.call('HSET', P .. 'templates', templates[k], templates[k + 1]) end
wake()
return {'ok'}
