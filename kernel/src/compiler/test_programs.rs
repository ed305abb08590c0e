// Sample programs for the luac listing comparison (included by tests.rs).
const PROGRAMS: &[(&str, &str)] = &[
    ("s1", "local a = {1,2,x=3}\nlocal t <const> = 5\nprint(a[1] + t, ...)\nfor i=1,10 do a[i]=i end\nfor k,v in pairs(a) do print(k,v) end\nreturn f(a)\n"),
];
