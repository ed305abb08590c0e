-- Closures: deeply nested functions capturing variables from many enclosing levels.
local function l1(a)
  return function(b)
    return function(c)
      return function(d)
        return function(e)
          return function(f)
            return function(g)
              return function(h)
                return a + b + c + d + e + f + g + h, function() a = a * 10 return a end
              end
            end
          end
        end
      end
    end
  end
end
local sum, bump = l1(1)(2)(3)(4)(5)(6)(7)(8)
print(sum, bump(), bump())
local function build(depth)
  if depth == 0 then return function() return 0 end end
  local inner = build(depth - 1)
  local mine = depth
  return function() return mine + inner() end
end
print(build(100)())
local chain = function(x) return x end
for i = 1, 50 do
  local prev, k = chain, i
  chain = function(x) return prev(x) + k end
end
print(chain(0))
local shared = 0
local function nest(n) if n == 0 then return function() shared = shared + 1 return shared end end return nest(n - 1) end
local f1, f2 = nest(30), nest(20)
print(f1(), f2(), f1(), shared)
local function make_counter_tree()
  local root = 0
  local function child()
    local c = 0
    return function() root = root + 1 c = c + 1 return root, c end
  end
  return child(), child()
end
local ca, cb = make_counter_tree()
print(ca()) print(ca()) print(cb())
