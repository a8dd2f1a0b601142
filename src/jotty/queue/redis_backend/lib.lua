-- Helpers every Jotty queue script starts with. ARGV[1] is the key prefix, ARGV[2] the time of the
-- change as UTC text ('YYYY-MM-DD HH:MM:SS.ffffff'). Keys (P = prefix):
--   P t:ID        hash of the task's columns (absent field = NULL)
--   P s:STATUS    sorted set of the tasks in STATUS: score = priority, member = created_at '|' id,
--                 so ZRANGE gives queue order (priority, then age, then id)
--   P delayed     pending tasks with run_after (score run_after)
--   P leases      in_progress tasks with a lease (score lease_expires_at)
--   P deps:ID     tasks whose depends_on names ID;  P kids:ID  tasks whose parent is ID
--   P h:ID        history of ID (JSON entries);  P templates;  P ids:YYYYMMDD;  P wake (pub/sub)
local P = ARGV[1]
local STAMP = ARGV[2]
local WOKEN = false

local function tkey(id) return P .. 't:' .. id end

local function member(created, id) return (created or '') .. '|' .. id end

local function id_of(m) return string.sub(m, string.find(m, '|', 1, true) + 1) end

local function split_list(text)
  local out = {}
  if not text or text == '' then return out end
  if string.sub(text, 1, 1) == '[' then
    local ok, decoded = pcall(cjson.decode, text)
    if ok and type(decoded) == 'table' then
      for _, v in ipairs(decoded) do table.insert(out, tostring(v)) end
      return out
    end
  end
  for part in string.gmatch(text, '[^,]+') do
    part = string.gsub(part, '^%s*(.-)%s*$', '%1')
    if part ~= '' then table.insert(out, part) end
  end
  return out
end

-- Remove a task from the status, delayed and lease indexes (before its hash changes).
local function unindex(id)
  local v = redis.call('HMGET', tkey(id), 'status', 'created_at')
  if v[1] then redis.call('ZREM', P .. 's:' .. v[1], member(v[2], id)) end
  redis.call('ZREM', P .. 'delayed', id)
  redis.call('ZREM', P .. 'leases', id)
end

-- Put a task back in the indexes its (changed) hash calls for.
local function index(id)
  local v = redis.call('HMGET', tkey(id), 'status', 'priority', 'created_at', 'run_after', 'lease_expires_at')
  if not v[1] then return end
  redis.call('ZADD', P .. 's:' .. v[1], tonumber(v[2]) or 3, member(v[3], id))
  if v[1] == 'pending' and v[4] then redis.call('ZADD', P .. 'delayed', v[4], id) end
  if v[1] == 'in_progress' and v[5] then redis.call('ZADD', P .. 'leases', v[5], id) end
end

-- The dependency and parent links of a task (kept in step with depends_on and parent_id).
local function unlink(id)
  local v = redis.call('HMGET', tkey(id), 'depends_on', 'parent_id')
  for _, dep in ipairs(split_list(v[1])) do redis.call('SREM', P .. 'deps:' .. dep, id) end
  if v[2] then redis.call('SREM', P .. 'kids:' .. v[2], id) end
end

local function link(id)
  local v = redis.call('HMGET', tkey(id), 'depends_on', 'parent_id')
  for _, dep in ipairs(split_list(v[1])) do redis.call('SADD', P .. 'deps:' .. dep, id) end
  if v[2] then redis.call('SADD', P .. 'kids:' .. v[2], id) end
end

-- Set and delete fields of a task, keeping the indexes right. sets = {field, value, ...}.
local function change(id, sets, dels)
  unindex(id)
  if #sets > 0 then redis.call('HSET', tkey(id), unpack(sets)) end
  if #dels > 0 then redis.call('HDEL', tkey(id), unpack(dels)) end
  index(id)
end

local function log(id, from, to, actor, reason)
  local entry = {t = to, at = STAMP}
  if from then entry.f = from end
  if actor and actor ~= '' then entry.a = actor end
  if reason then entry.r = reason end
  redis.call('RPUSH', P .. 'h:' .. id, cjson.encode(entry))
end

local function wake()
  if not WOKEN then
    redis.call('PUBLISH', P .. 'wake', '1')
    WOKEN = true
  end
end

-- A parent's progress: whole percent of its children that completed.
local function roll_up(parent)
  if not parent or redis.call('EXISTS', tkey(parent)) == 0 then return end
  local kids = redis.call('SMEMBERS', P .. 'kids:' .. parent)
  if #kids == 0 then return end
  local done = 0
  for _, kid in ipairs(kids) do
    if redis.call('HGET', tkey(kid), 'status') == 'completed' then done = done + 1 end
  end
  redis.call('HSET', tkey(parent), 'progress_percent', string.format('%d', math.floor(100 * done / #kids)))
end

-- Pending and backlog tasks that depend on a task that failed or was cancelled become blocked, transitively.
local function block_dependents(id, actor)
  local frontier = {id}
  while #frontier > 0 do
    local current = table.remove(frontier)
    local dependents = redis.call('SMEMBERS', P .. 'deps:' .. current)
    table.sort(dependents)
    for _, dep in ipairs(dependents) do
      local v = redis.call('HMGET', tkey(dep), 'status', 'parent_id')
      if v[1] == 'pending' or v[1] == 'backlog' then
        change(dep, {'status', 'blocked'}, {})
        log(dep, v[1], 'blocked', actor, 'dependency ' .. current .. ' did not complete')
        roll_up(v[2])
        table.insert(frontier, dep)
      end
    end
  end
end

-- The follow-ups of a status change: history, blocking dependents, the parent's progress.
local function after_status(id, before, after, actor, reason)
  log(id, before, after, actor, reason)
  if after == 'failed' or after == 'cancelled' then block_dependents(id, actor) end
  roll_up(redis.call('HGET', tkey(id), 'parent_id') or nil)
end

-- Seconds since the epoch of a UTC text time, or nil.
local function epoch_of(text)
  if not text then return nil end
  local y, mo, d, h, mi, s = string.match(text, '^(%d+)-(%d+)-(%d+)[ T](%d+):(%d+):([%d%.]+)')
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((mo + 9) % 12) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return (era * 146097 + doe - 719468) * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
end

-- Read ARGV from position i: a count n, then n items. Returns the items and the next position.
local function take(i)
  local n = tonumber(ARGV[i])
  local out = {}
  for k = 1, n do out[k] = ARGV[i + k] end
  return out, i + n + 1
end

-- A task's hash as one JSON object of strings (one reply item per task instead of two per field).
local function row(id)
  local flat = redis.call('HGETALL', tkey(id))
  local out = {}
  for k = 1, #flat, 2 do out[flat[k]] = flat[k + 1] end
  return cjson.encode(out)
end
