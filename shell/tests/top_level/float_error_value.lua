error(12.5)
