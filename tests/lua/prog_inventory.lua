-- Program: inventory report with records, grouping, sorting and formatted columns.
local items = {
  {sku = "A100", name = "widget", cat = "tools", qty = 12, price = 2.5},
  {sku = "B200", name = "gadget", cat = "toys", qty = 0, price = 10},
  {sku = "A101", name = "hammer", cat = "tools", qty = 3, price = 15.75},
  {sku = "C300", name = "kite", cat = "toys", qty = 7, price = 8.2},
  {sku = "D400", name = "lamp", cat = "home", qty = 5, price = 22},
  {sku = "A102", name = "wrench", cat = "tools", qty = 9, price = 7.4},
}
local by_cat = {}
for _, it in ipairs(items) do
  local c = by_cat[it.cat] or {count = 0, value = 0, names = {}}
  c.count = c.count + it.qty
  c.value = c.value + it.qty * it.price
  c.names[#c.names + 1] = it.name
  by_cat[it.cat] = c
end
local cats = {}
for k in pairs(by_cat) do cats[#cats + 1] = k end
table.sort(cats)
print(string.format("%-8s %5s %10s  %s", "category", "qty", "value", "items"))
for _, k in ipairs(cats) do
  local c = by_cat[k]
  table.sort(c.names)
  print(string.format("%-8s %5d %10.2f  %s", k, c.count, c.value, table.concat(c.names, ",")))
end
table.sort(items, function(a, b) if a.qty * a.price ~= b.qty * b.price then return a.qty * a.price > b.qty * b.price end return a.sku < b.sku end)
for i, it in ipairs(items) do print(string.format("%d. %s %-7s %6.2f", i, it.sku, it.name, it.qty * it.price)) end
local out_of_stock = {}
for _, it in ipairs(items) do if it.qty == 0 then out_of_stock[#out_of_stock + 1] = it.sku end end
print("out of stock:", table.concat(out_of_stock, " "))
local total = 0
for _, it in ipairs(items) do total = total + it.qty * it.price end
print(string.format("total %.2f, average price %.3f", total, total / #items))
