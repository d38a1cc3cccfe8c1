"""The Lua scripts behind `RedisStateBackend`: one atomic server-side operation each.

Redis runs a script without interleaving any other command, so each script is the
equivalent of one compare-and-set step of `InMemoryState`. Every script that needs the
time reads the server's clock (``TIME``) rather than taking the caller's: workers on
different machines do not share a clock, the Redis server is one.

Conventions: ``KEYS`` carry every key a script touches except the liveness keys of other
owners (derived from a prefix passed in ``ARGV``, so use a hash-tagged prefix on Redis
Cluster); integers travel as decimal strings and come back as integer replies (exact up
to 2**53, which the backend enforces); floats come back as ``%.17g`` strings (``inf``
included), since Redis truncates a Lua number reply to an integer. Errors that mean
"the caller broke a budget invariant" start with ``OMNILLM`` and become
`ConfigurationError`, as in memory.
"""

from __future__ import annotations

# Shared helpers, prepended to every script that needs them.
_COMMON = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local function int(x)
  return string.format('%.0f', x)
end
local function num(x)
  return string.format('%.17g', x)
end
"""

# Budget keys: KEYS[1] totals hash (spent, reserved, overspend, overspend_count,
# reclaimed), KEYS[2] open reservations (rid -> amount), KEYS[3] leases (rid -> expiry
# in server ms), KEYS[4] the reservation's done marker.
_RECLAIM = """
local function reclaim(now)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', num(now))
  for _, rid in ipairs(expired) do
    local amount = redis.call('HGET', KEYS[2], rid)
    if amount then
      redis.call('HINCRBY', KEYS[1], 'reserved', int(-tonumber(amount)))
      redis.call('HDEL', KEYS[2], rid)
      redis.call('HINCRBY', KEYS[1], 'reclaimed', 1)
    end
    redis.call('ZREM', KEYS[3], rid)
  end
end
local function expire(ttl)
  if ttl > 0 then
    for i = 1, 3 do
      if redis.call('EXISTS', KEYS[i]) == 1 then
        redis.call('PEXPIRE', KEYS[i], ttl)
      end
    end
  end
end
local function field(name)
  return tonumber(redis.call('HGET', KEYS[1], name) or '0')
end
"""

BUDGET_RESERVE = (
    _COMMON
    + _RECLAIM
    + """
-- ARGV: rid, amount, limit, lease ms, ttl ms. Returns {done, available before, spent + reserved after}.
local now = now_ms()
reclaim(now)
local rid, amount, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local committed = field('spent') + field('reserved')
local available = limit - committed
if amount > available then
  return {0, math.max(0, available), committed}
end
redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[2])
if rid ~= '' then
  redis.call('HSET', KEYS[2], rid, ARGV[2])
  redis.call('ZADD', KEYS[3], num(now + tonumber(ARGV[4])), rid)
end
expire(tonumber(ARGV[5]))
return {1, available, committed + amount}
"""
)

BUDGET_SETTLE = (
    _COMMON
    + _RECLAIM
    + """
-- ARGV: rid, reserved, actual, done ms, ttl ms, mode ('settle': reserved here;
-- 'spend': reserved in a process's local fallback while Redis was away).
-- Returns 1 when applied, 0 when this rid was already finished.
local rid, reserved, actual = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local held
if rid ~= '' then
  if redis.call('EXISTS', KEYS[4]) == 1 then
    return 0
  end
  held = redis.call('HGET', KEYS[2], rid)
  if held then
    held = tonumber(held)
    redis.call('HINCRBY', KEYS[1], 'reserved', int(-held))
    redis.call('HDEL', KEYS[2], rid)
    redis.call('ZREM', KEYS[3], rid)
  elseif ARGV[6] == 'spend' then
    held = reserved
  else
    -- The lease ran out and the reservation was reclaimed: all of it is overspend.
    held = 0
  end
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[4])
else
  held = field('reserved')
  if held < reserved then
    return redis.error_reply('OMNILLM ' .. KEYS[1] .. ': settling a reservation of ' .. int(reserved)
      .. ' micros but only ' .. int(held) .. ' are reserved')
  end
  redis.call('HINCRBY', KEYS[1], 'reserved', int(-reserved))
  held = reserved
end
redis.call('HINCRBY', KEYS[1], 'spent', ARGV[3])
if actual > held then
  redis.call('HINCRBY', KEYS[1], 'overspend', int(actual - held))
  redis.call('HINCRBY', KEYS[1], 'overspend_count', 1)
end
expire(tonumber(ARGV[5]))
return 1
"""
)

BUDGET_RELEASE = (
    _COMMON
    + _RECLAIM
    + """
-- ARGV: rid, reserved, done ms, ttl ms. Returns 1 when applied, 0 when already finished.
local rid, reserved = ARGV[1], tonumber(ARGV[2])
if rid ~= '' then
  if redis.call('EXISTS', KEYS[4]) == 1 then
    return 0
  end
  local held = redis.call('HGET', KEYS[2], rid)
  if held then
    redis.call('HINCRBY', KEYS[1], 'reserved', int(-tonumber(held)))
    redis.call('HDEL', KEYS[2], rid)
    redis.call('ZREM', KEYS[3], rid)
  end
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[3])
else
  local held = field('reserved')
  if held < reserved then
    return redis.error_reply('OMNILLM ' .. KEYS[1] .. ': releasing a reservation of ' .. int(reserved)
      .. ' micros but only ' .. int(held) .. ' are reserved')
  end
  redis.call('HINCRBY', KEYS[1], 'reserved', int(-reserved))
end
expire(tonumber(ARGV[4]))
return 1
"""
)

BUDGET_TOTALS = (
    _COMMON
    + _RECLAIM
    + """
-- Returns {spent, reserved, overspend, overspend_count, reclaimed}, after reclaiming expired leases.
reclaim(now_ms())
return {field('spent'), field('reserved'), field('overspend'), field('overspend_count'), field('reclaimed')}
"""
)

# Buckets: KEYS[1..n] one key per bucket, KEYS[n+1] the caller's liveness key.
# ARGV: op, owner, holder ttl ms, owner key prefix, then (capacity, refill per s,
# amount) per bucket. A bucket refilled at 0/s is a semaphore: a hash of the units each
# owner holds, whose level is the capacity minus the units of owners still alive; the
# others are token buckets (level, ts in server ms), missing meaning full.
BUCKETS = (
    _COMMON
    + """
local op, owner, holder_ttl, owners = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local n = #KEYS - 1
local now = now_ms()
local semaphores = false
for i = 1, n do
  if tonumber(ARGV[4 + 3 * i - 1]) == 0 then
    semaphores = true
  end
end
if semaphores and (op == 'take' or op == 'put') then
  redis.call('SET', KEYS[n + 1], '1', 'PX', holder_ttl)
end

local function level_of(i, cap, refill)
  local key = KEYS[i]
  if refill == 0 then
    local held = redis.call('HGETALL', key)
    local total = 0
    for j = 1, #held, 2 do
      if held[j] == owner or redis.call('EXISTS', owners .. held[j]) == 1 then
        total = total + tonumber(held[j + 1])
      else
        -- That owner stopped refreshing its liveness key (killed mid-call): its units come back.
        redis.call('HDEL', key, held[j])
      end
    end
    return cap - total
  end
  local v = redis.call('HMGET', key, 'level', 'ts')
  if not v[1] then
    return cap
  end
  local elapsed = math.max(0, now - tonumber(v[2])) / 1000
  return math.min(cap, tonumber(v[1]) + elapsed * refill)
end

local function wait_for(cap, refill, level, amount)
  -- A request larger than the whole bucket is admitted when it is full, leaving debt.
  local need = math.min(amount, cap)
  if level + 1e-9 >= need then
    return 0
  end
  if refill == 0 then
    return math.huge
  end
  return (need - level) / refill
end

local function store(i, cap, refill, level, delta)
  local key = KEYS[i]
  if refill == 0 then
    local held = tonumber(redis.call('HINCRBYFLOAT', key, owner, num(-delta)))
    if held <= 1e-9 then
      redis.call('HDEL', key, owner)
    end
    if redis.call('EXISTS', key) == 1 then
      redis.call('PEXPIRE', key, holder_ttl)
    end
    return
  end
  local new = math.min(cap, level + delta)
  redis.call('HSET', key, 'level', num(new), 'ts', num(now))
  -- Once full again the bucket is the same as no key at all (capped at a year: PEXPIRE overflows).
  local full_ms = math.min(math.ceil((cap - new) / refill * 1000) + 1000, 31536000000)
  redis.call('PEXPIRE', key, int(full_ms))
end

local caps, refills, amounts, levels = {}, {}, {}, {}
for i = 1, n do
  caps[i] = tonumber(ARGV[4 + 3 * i - 2])
  refills[i] = tonumber(ARGV[4 + 3 * i - 1])
  amounts[i] = tonumber(ARGV[4 + 3 * i])
  levels[i] = level_of(i, caps[i], refills[i])
end
if op == 'level' then
  return num(levels[1])
end
if op == 'put' then
  for i = 1, n do
    store(i, caps[i], refills[i], levels[i], amounts[i])
  end
  return '0'
end
local wait = 0
for i = 1, n do
  wait = math.max(wait, wait_for(caps[i], refills[i], levels[i], amounts[i]))
end
if op == 'take' and wait == 0 then
  for i = 1, n do
    store(i, caps[i], refills[i], levels[i], -amounts[i])
  end
end
return num(wait)
"""
)

SEMAPHORE_SYNC = """
-- KEYS[1] semaphore hash, KEYS[2] the owner's liveness key; ARGV: owner, units held, holder ttl ms.
-- Sets the owner's holding to what it knows it holds (after an operation whose outcome was unknown).
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
if tonumber(ARGV[2]) > 1e-9 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
"""

# Ejection slots: KEYS[1] the pool's sorted set of holders. A holder is either a claim
# ``c:<owner>:<n>`` scored with its expiry in server ms (taken by `slot_acquire`, not yet
# backed by a stored breaker record) or ``b:<breaker>`` scored +inf (bound by the
# `BREAKER_SWAP` that stored the breaker as ejected). A claim whose taker died before its
# swap runs out; a bound holder whose breaker record is gone or no longer ejected is
# dropped by the next acquire or count: nothing leaks for good, and no TTL is needed (the
# set is deleted by Redis once empty). ``bind:<breaker>`` names the pool a breaker holds
# its slot in, so that the swap that un-ejects it can drop the holder in the same step.
_SLOTS = """
local function slot_holders(key, pool, prefix, now)
  if redis.call('TYPE', key).ok == 'string' then
    -- A counter from before holders were tracked: it cannot say whose slots it counts.
    redis.call('DEL', key)
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. int(now))
  for _, holder in ipairs(redis.call('ZRANGEBYSCORE', key, '+inf', '+inf')) do
    local name = string.sub(holder, 3)
    local raw = redis.call('GET', prefix .. 'breaker:' .. name)
    local held = false
    if raw then
      local ok, record = pcall(cjson.decode, raw)
      -- A record this script cannot read keeps its slot: dropping it could over-eject.
      held = (not ok) or record.ejected == true
    end
    if not held then
      redis.call('ZREM', key, holder)
      if redis.call('GET', prefix .. 'bind:' .. name) == pool then
        redis.call('DEL', prefix .. 'bind:' .. name)
      end
    end
  end
  return redis.call('ZCARD', key)
end
"""

SLOT_ACQUIRE = (
    _COMMON
    + _SLOTS
    + """
-- ARGV: pool, cap ('' for none), claim id, claim ms, key prefix. Returns 1 when a slot was taken.
local now = now_ms()
local taken = slot_holders(KEYS[1], ARGV[1], ARGV[5], now)
if ARGV[2] ~= '' and taken >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], int(now + tonumber(ARGV[4])), ARGV[3])
return 1
"""
)

SLOT_COUNT = (
    _COMMON
    + _SLOTS
    + """
-- ARGV: pool, key prefix. Returns how many slots are held, after dropping stale holders.
return slot_holders(KEYS[1], ARGV[1], ARGV[2], now_ms())
"""
)

SLOT_RELEASE = """
-- KEYS[1] the pool's holders; ARGV: the claim to drop ('' for any one claim of the owner), owner's claim prefix.
if redis.call('TYPE', KEYS[1]).ok ~= 'zset' then
  return 0
end
if ARGV[1] ~= '' then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
for _, holder in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(holder, 1, #ARGV[2]) == ARGV[2] then
    return redis.call('ZREM', KEYS[1], holder)
  end
end
return 0
"""

BREAKER_SWAP = """
-- KEYS[1] the record, KEYS[2] the breaker's bind key, KEYS[3] (when binding) the pool's holders.
-- ARGV: expected serialized record ('' for none), new record, ttl ms (0: keep), breaker name,
-- slot action ('bind': the new record is ejected, the old was not; 'unbind': the reverse; ''),
-- the claim to bind, its pool, the key prefix.
-- Returns 0 when refused, 1 when stored, or the pool whose slot an unbind gave back.
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
local holder = 'b:' .. ARGV[4]
if ARGV[5] == 'bind' and KEYS[3] then
  if redis.call('TYPE', KEYS[3]).ok == 'string' then
    redis.call('DEL', KEYS[3])
  end
  -- The claim becomes the breaker's: it lasts as long as the record says ejected.
  redis.call('ZREM', KEYS[3], ARGV[6])
  redis.call('ZADD', KEYS[3], '+inf', holder)
  redis.call('SET', KEYS[2], ARGV[7])
elseif ARGV[5] == 'unbind' then
  local pool = redis.call('GET', KEYS[2])
  if pool then
    redis.call('DEL', KEYS[2])
    if redis.call('TYPE', ARGV[8] .. 'slots:' .. pool).ok == 'zset' then
      redis.call('ZREM', ARGV[8] .. 'slots:' .. pool, holder)
    end
    return pool
  end
end
return 1
"""

COOLDOWN_SET = """
-- KEYS[1] the cooldown; ARGV[1] milliseconds or 'inf'. A longer cooldown in force stays.
local left = redis.call('PTTL', KEYS[1])
if left == -1 then
  return 0
end
if ARGV[1] == 'inf' then
  redis.call('SET', KEYS[1], '1')
  return 1
end
local ms = tonumber(ARGV[1])
if ms > 0 and (left == -2 or ms > left) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
  return 1
end
return 0
"""

KEY_STATS = """
-- KEYS: per gateway key, its traffic counters (hash) then its calls in flight by owner (hash).
-- ARGV[1] the owner liveness key prefix. Returns per gateway key {counters as a flat list,
-- calls in flight summed over owners still alive}; the entries of dead owners are dropped.
local out = {}
for i = 1, #KEYS, 2 do
  local total = 0
  local held = redis.call('HGETALL', KEYS[i + 1])
  for j = 1, #held, 2 do
    if redis.call('EXISTS', ARGV[1] .. held[j]) == 1 then
      total = total + tonumber(held[j + 1])
    else
      redis.call('HDEL', KEYS[i + 1], held[j])
    end
  end
  table.insert(out, redis.call('HGETALL', KEYS[i]))
  table.insert(out, total)
end
return out
"""

SCRIPTS = {
    "budget_reserve": BUDGET_RESERVE,
    "budget_settle": BUDGET_SETTLE,
    "budget_release": BUDGET_RELEASE,
    "budget_totals": BUDGET_TOTALS,
    "buckets": BUCKETS,
    "semaphore_sync": SEMAPHORE_SYNC,
    "slot_acquire": SLOT_ACQUIRE,
    "slot_release": SLOT_RELEASE,
    "slot_count": SLOT_COUNT,
    "breaker_swap": BREAKER_SWAP,
    "cooldown_set": COOLDOWN_SET,
    "key_stats": KEY_STATS,
}
"""Every script by the operation it implements."""

__all__ = ["SCRIPTS"]
