//! Bundled pure-Lua modules that `import(name)` can load without any key: each runs in a child
//! process of its own, and the importer gets a proxy. Modules from disk need a `caps.lib`
//! directory key (a later milestone). The sources live in `stdlib/modules/`.

/// Name and source of every bundled module.
const BUNDLED: &[(&str, &str)] = &[
    ("json", include_str!("../modules/json.lua")),
    ("pretty", include_str!("../modules/pretty.lua")),
];

/// The source of a bundled module.
pub fn bundled(name: &str) -> Option<&'static str> {
    BUNDLED.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The names of the bundled modules.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUNDLED.iter().map(|(n, _)| *n)
}
