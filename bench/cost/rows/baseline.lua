-- The plain loop every row is compared with.
while true do end
