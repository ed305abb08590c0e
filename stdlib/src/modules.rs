//! Bundled pure-Lua modules that `import(name)` can load without any key: each runs in a child
//! process of its own, and the importer gets a proxy. Modules from disk need a `caps.lib`
//! directory key (a later milestone).

/// Name and source of every bundled module.
const BUNDLED: &[(&str, &str)] = &[];

/// The source of a bundled module.
pub fn bundled(name: &str) -> Option<&'static str> {
    BUNDLED.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}
