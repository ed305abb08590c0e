//! Lua values: a 16-byte `Copy` enum whose collectable variants are indices into the owning
//! process's heap arenas (see `heap`). A value is meaningful only inside the process whose heap
//! it indexes; values cross processes only by copy.

use crate::number::{float_to_int, FloatToInt, Number};
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub(crate) u32);

        impl $name {
            /// The arena index (stable for the object's lifetime, reused after collection).
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

/// A string: the arena index of its bytes, which the heap interns (equal bytes are stored
/// once), and which Lua string object it is.
///
/// Lua interns short strings (at most `heap::SHORT_STRING_MAX` bytes), so equal short strings
/// are one object; every long string it creates is an object of its own, equal by content to
/// any other with the same bytes and told apart only by `string.format("%p")`. The second
/// field numbers a long string's creation (`Heap::intern` draws it) and is 0 for a short
/// string. Equality, hashing and ordering look at the index alone: two long strings with the
/// same bytes are equal, as in Lua, and are one table key.
#[derive(Clone, Copy, Debug)]
pub struct StrRef(pub(crate) u32, pub(crate) u32);

/// A short string's handle is its index alone, as every other handle's is; a long string's is
/// the pair of its index and its object number.
impl Serialize for StrRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            0 => serializer.serialize_u32(self.0),
            object => (self.0, object).serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for StrRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<StrRef, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = StrRef;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string's index, or its index and object number")
            }
            fn visit_u64<E: serde::de::Error>(self, index: u64) -> Result<StrRef, E> {
                u32::try_from(index)
                    .map(|index| StrRef(index, 0))
                    .map_err(|_| E::custom("a string index out of range"))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<StrRef, A::Error> {
                let mut next = || -> Result<u32, A::Error> {
                    seq.next_element()?
                        .ok_or_else(|| serde::de::Error::custom("a string handle is cut short"))
                };
                let (index, object) = (next()?, next()?);
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(serde::de::Error::custom("a string handle is too long"));
                }
                Ok(StrRef(index, object))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

impl StrRef {
    /// The arena index of the bytes (stable for their lifetime, reused after collection).
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// Which long string object this is (unique among the heap's long strings until its
    /// numbering wraps, after 2^32 creations); 0 for a short string.
    #[inline]
    pub fn object(self) -> u32 {
        self.1
    }
}

impl PartialEq for StrRef {
    #[inline]
    fn eq(&self, other: &StrRef) -> bool {
        self.0 == other.0
    }
}

impl Eq for StrRef {}

impl Hash for StrRef {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialOrd for StrRef {
    #[inline]
    fn partial_cmp(&self, other: &StrRef) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for StrRef {
    #[inline]
    fn cmp(&self, other: &StrRef) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}
handle!(
    /// A table.
    TableRef
);
handle!(
    /// A Lua closure.
    ClosureRef
);
handle!(
    /// A native (Rust) function together with its upvalues.
    NativeRef
);
handle!(
    /// An upvalue cell.
    UpvalRef
);
handle!(
    /// A function prototype loaded into the heap.
    ProtoRef
);
handle!(
    /// A coroutine.
    ThreadRef
);
handle!(
    /// A full userdata.
    UserDataRef
);

/// A Lua value.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub enum Value {
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(StrRef),
    Table(TableRef),
    LuaFn(ClosureRef),
    Native(NativeRef),
    UserData(UserDataRef),
    Thread(ThreadRef),
}

/// The basic types of Lua, for `type()` and error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Nil,
    Boolean,
    Number,
    String,
    Table,
    Function,
    UserData,
    Thread,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::Nil => "nil",
            Type::Boolean => "boolean",
            Type::Number => "number",
            Type::String => "string",
            Type::Table => "table",
            Type::Function => "function",
            Type::UserData => "userdata",
            Type::Thread => "thread",
        }
    }
}

impl Value {
    #[inline]
    pub fn type_of(self) -> Type {
        match self {
            Value::Nil => Type::Nil,
            Value::Bool(_) => Type::Boolean,
            Value::Int(_) | Value::Float(_) => Type::Number,
            Value::Str(_) => Type::String,
            Value::Table(_) => Type::Table,
            Value::LuaFn(_) | Value::Native(_) => Type::Function,
            Value::UserData(_) => Type::UserData,
            Value::Thread(_) => Type::Thread,
        }
    }

    #[inline]
    pub fn type_name(self) -> &'static str {
        self.type_of().name()
    }

    /// Lua truthiness: everything but `nil` and `false`.
    #[inline]
    pub fn truthy(self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }

    #[inline]
    pub fn is_nil(self) -> bool {
        matches!(self, Value::Nil)
    }

    #[inline]
    pub fn as_number(self) -> Option<Number> {
        match self {
            Value::Int(i) => Some(Number::Int(i)),
            Value::Float(f) => Some(Number::Float(f)),
            _ => None,
        }
    }

    #[inline]
    pub fn from_number(n: Number) -> Value {
        match n {
            Number::Int(i) => Value::Int(i),
            Number::Float(f) => Value::Float(f),
        }
    }

    #[inline]
    pub fn is_function(self) -> bool {
        matches!(self, Value::LuaFn(_) | Value::Native(_))
    }

    /// Raw equality (`rawequal`): numbers by value across subtypes, strings by content (their
    /// bytes are interned, so by index), everything else by identity.
    #[inline]
    pub fn raw_eq(self, other: Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Int(i), Value::Float(f)) | (Value::Float(f), Value::Int(i)) => {
                float_to_int(f, FloatToInt::Exact) == Some(i)
            }
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Table(a), Value::Table(b)) => a == b,
            (Value::LuaFn(a), Value::LuaFn(b)) => a == b,
            (Value::Native(a), Value::Native(b)) => a == b,
            (Value::UserData(a), Value::UserData(b)) => a == b,
            (Value::Thread(a), Value::Thread(b)) => a == b,
            _ => false,
        }
    }

    /// The same value, bit for bit: `raw_eq` without its number rules (an integer is not
    /// the float of its value, a NaN is itself).
    pub fn same(self, other: Value) -> bool {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Int(_), _) | (Value::Float(_), _) => false,
            _ => self.raw_eq(other),
        }
    }

    /// The table this value is, if it is one.
    #[inline]
    pub fn as_table(self) -> Option<TableRef> {
        match self {
            Value::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The arena index of a value's object; none for nil, booleans and numbers.
    pub fn handle_index(self) -> Option<u32> {
        match self {
            Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Float(_) => None,
            Value::Str(r) => Some(r.0),
            Value::Table(r) => Some(r.0),
            Value::LuaFn(r) => Some(r.0),
            Value::Native(r) => Some(r.0),
            Value::UserData(r) => Some(r.0),
            Value::Thread(r) => Some(r.0),
        }
    }
}

/// A value usable as a table key: never nil or NaN, and floats with an integral value are
/// normalized to integers (so `t[1]` and `t[1.0]` are the same slot).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Key(Value);

/// Why a value cannot be a table key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    Nil,
    NaN,
}

impl Key {
    /// Normalizes a value into a key.
    ///
    /// # Errors
    /// `nil` and NaN are not valid keys.
    #[inline]
    pub fn new(v: Value) -> Result<Key, KeyError> {
        match v {
            Value::Nil => Err(KeyError::Nil),
            Value::Float(f) => {
                if let Some(i) = float_to_int(f, FloatToInt::Exact) {
                    Ok(Key(Value::Int(i)))
                } else if f.is_nan() {
                    Err(KeyError::NaN)
                } else {
                    Ok(Key(v))
                }
            }
            _ => Ok(Key(v)),
        }
    }

    /// Wraps a value already known to be a valid, normalized key (an integer, a string, …).
    #[inline]
    pub(crate) fn normalized(v: Value) -> Key {
        Key(v)
    }

    #[inline]
    pub fn value(self) -> Value {
        self.0
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Key) -> bool {
        // Normalized keys: integral floats are ints, so identity of subtype + payload is enough.
        match (self.0, other.0) {
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits() || a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Int(_), Value::Float(_)) | (Value::Float(_), Value::Int(_)) => false,
            (a, b) => a.raw_eq(b),
        }
    }
}

impl Eq for Key {}

/// The word a string key hashes as (shared with the table's handle-only lookups).
#[inline]
pub(crate) fn str_key_hash_word(r: StrRef) -> u64 {
    r.0 as u64 | 1 << 32
}

impl Hash for Key {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self.0 {
            Value::Nil => 0u64.hash(state),
            Value::Bool(b) => (1 + b as u64).hash(state),
            Value::Int(i) => i.hash(state),
            // -0.0 and 0.0 are normalized to the integer 0 by `Key::new`.
            Value::Float(f) => f.to_bits().hash(state),
            Value::Str(r) => str_key_hash_word(r).hash(state),
            Value::Table(r) => (r.0 as u64 | 2 << 32).hash(state),
            Value::LuaFn(r) => (r.0 as u64 | 3 << 32).hash(state),
            Value::Native(r) => (r.0 as u64 | 4 << 32).hash(state),
            Value::UserData(r) => (r.0 as u64 | 5 << 32).hash(state),
            Value::Thread(r) => (r.0 as u64 | 6 << 32).hash(state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
    }

    #[test]
    fn string_handles_keep_their_object_number_through_messagepack() {
        for r in [StrRef(7, 0), StrRef(7, 3), StrRef(u32::MAX, u32::MAX)] {
            let bytes = rmp_serde::to_vec(&Value::Str(r)).expect("encodes");
            let back: Value = rmp_serde::from_slice(&bytes).expect("decodes");
            let Value::Str(b) = back else {
                panic!("{back:?}")
            };
            assert_eq!((b.0, b.1), (r.0, r.1));
        }
        // A short string's handle is written as every other handle is: its index alone.
        let short = rmp_serde::to_vec(&StrRef(7, 0)).expect("encodes");
        assert_eq!(short, rmp_serde::to_vec(&TableRef(7)).expect("encodes"));
        for bad in [
            &[0x93u8, 1, 2, 3][..],
            &[0x91, 1],
            &[0xff],
            &[0xcf, 0, 0, 0, 1, 0, 0, 0, 0],
        ] {
            assert!(rmp_serde::from_slice::<StrRef>(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn long_strings_with_the_same_bytes_are_one_key() {
        let (a, b) = (StrRef(5, 1), StrRef(5, 2));
        assert!(Value::Str(a).raw_eq(Value::Str(b)));
        assert!(Key::new(Value::Str(a)).unwrap() == Key::new(Value::Str(b)).unwrap());
        assert!(!Value::Str(a).raw_eq(Value::Str(StrRef(6, 1))));
    }

    #[test]
    fn float_keys_normalize() {
        assert_eq!(
            Key::new(Value::Float(1.0)).unwrap().value().type_of(),
            Type::Number
        );
        assert!(matches!(
            Key::new(Value::Float(2.0)).unwrap().value(),
            Value::Int(2)
        ));
        assert!(matches!(
            Key::new(Value::Float(-0.0)).unwrap().value(),
            Value::Int(0)
        ));
        assert_eq!(Key::new(Value::Float(f64::NAN)).unwrap_err(), KeyError::NaN);
        assert_eq!(Key::new(Value::Nil).unwrap_err(), KeyError::Nil);
    }
}
