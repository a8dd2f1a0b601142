-- Claim up to n runnable tasks in queue order. ARGV: P, stamp, now, n, worker, pid, host,
-- lease expiry, filter count, then per filter: column, NULL matches ('1'/'0'), value count,
-- values; then one fresh lease id per task. Returns the claimed tasks as JSON objects.
local now, n = tonumber(ARGV[3]), tonumber(ARGV[4])
local worker, pid, host, expires = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local filters, i = {}, 10
for f = 1, tonumber(ARGV[9]) do
  local column, null_ok = ARGV[i], ARGV[i + 1] == '1'
  local values, next_i = take(i + 2)
  filters[f] = {column, values, null_ok}
  i = next_i
end
local leases = {}
for k = i, #ARGV do table.insert(leases, ARGV[k]) end

local function matches(id)
  if #filters == 0 then return true end
  local columns = {}
  for f = 1, #filters do columns[f] = filters[f][1] end
  local got = redis.call('HMGET', tkey(id), unpack(columns))
  for f = 1, #filters do
    local hit = false
    if not got[f] then
      hit = filters[f][3]
    else
      for _, v in ipairs(filters[f][2]) do if got[f] == v then hit = true break end end
    end
    if not hit then return false end
  end
  return true
end

local function runnable(id)
  local v = redis.call('HMGET', tkey(id), 'run_after', 'depends_on')
  if v[1] and tonumber(v[1]) > now then return false end
  for _, dep in ipairs(split_list(v[2])) do
    if redis.call('HGET', tkey(dep), 'status') ~= 'completed' then return false end
  end
  return matches(id)
end

local found, start, batch = {}, 0, 200
while #found < n do
  local members = redis.call('ZRANGE', P .. 's:pending', start, start + batch - 1)
  if #members == 0 then break end
  for _, m in ipairs(members) do
    local id = id_of(m)
    if runnable(id) then
      table.insert(found, id)
      if #found >= n then break end
    end
  end
  start = start + batch
end

local out = {}
for k, id in ipairs(found) do
  change(id, {'status', 'in_progress', 'lease_id', leases[k], 'lease_owner', worker, 'lease_expires_at', expires,
              'pid', pid, 'host', host, 'started_at', STAMP, 'last_heartbeat', STAMP}, {'run_after'})
  after_status(id, 'pending', 'in_progress', worker, 'claimed')
  table.insert(out, row(id))
end
return out
