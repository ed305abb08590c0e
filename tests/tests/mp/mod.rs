//! A MessagePack document as a tree (`Mp`), for tests that take snapshots apart field by field:
//! decode the body of a snapshot, change any field, encode it again. Only what snapshots use is
//! kept apart: integers, floats, strings, binaries, arrays and maps (an enum variant is a
//! one-entry map from its name, a unit variant its name as a string).

#![allow(dead_code)]

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Mp {
    Nil,
    Bool(bool),
    Int(i64),
    UInt(u64),
    F32(f32),
    F64(f64),
    Str(String),
    Bin(Vec<u8>),
    Array(Vec<Mp>),
    Map(Vec<(Mp, Mp)>),
}

/// The bytes of a snapshot before its MessagePack body (`TSNAP`, the version, the checksum).
pub const HEADER: usize = kernel::snapshot::HEADER_LEN;

/// Splits snapshot bytes into their header and decoded body.
pub fn decode(bytes: &[u8]) -> (Vec<u8>, Mp) {
    let body = rmp_serde::from_slice(&bytes[HEADER..]).expect("a real snapshot decodes");
    (bytes[..HEADER].to_vec(), body)
}

/// Snapshot bytes from a header and a body, the checksum made to match (a crafted snapshot
/// must reach the decoder and the checks, not stop at the checksum).
pub fn encode(header: &[u8], body: &Mp) -> Vec<u8> {
    let mut out = header.to_vec();
    rmp_serde::encode::write(&mut out, body).expect("writing to a Vec cannot fail");
    kernel::snapshot::reseal(&mut out);
    out
}

impl Mp {
    /// The integer this is, if it is one.
    pub fn as_i128(&self) -> Option<i128> {
        match *self {
            Mp::Int(i) => Some(i as i128),
            Mp::UInt(u) => Some(u as i128),
            _ => None,
        }
    }

    /// An integer, in the encoding MessagePack would pick.
    pub fn int(v: i128) -> Mp {
        if v >= 0 {
            Mp::UInt(v.min(u64::MAX as i128) as u64)
        } else {
            Mp::Int(v.max(i64::MIN as i128) as i64)
        }
    }

    /// Field `i` of a struct written as an array.
    pub fn at(&mut self, i: usize) -> &mut Mp {
        match self {
            Mp::Array(a) => &mut a[i],
            other => panic!("not an array: {other:?}"),
        }
    }

    pub fn items(&mut self) -> &mut Vec<Mp> {
        match self {
            Mp::Array(a) => a,
            other => panic!("not an array: {other:?}"),
        }
    }

    /// An enum variant `{name: value}`: its name and value.
    pub fn variant(&mut self) -> Option<(&str, &mut Mp)> {
        match self {
            Mp::Map(m) if m.len() == 1 => {
                let (k, v) = &mut m[0];
                match k {
                    Mp::Str(s) => Some((s.as_str(), v)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// A newtype variant `{name: value}`.
    pub fn variant_of(name: &str, value: Mp) -> Mp {
        Mp::Map(vec![(Mp::Str(name.to_owned()), value)])
    }

    /// Every node of the tree, in a fixed (pre-)order, by path of child indices (map entries
    /// count as two children each: key then value). Walked with an explicit stack.
    pub fn paths(&self) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        let mut stack: Vec<(Vec<usize>, &Mp)> = vec![(Vec::new(), self)];
        while let Some((path, node)) = stack.pop() {
            let children: Vec<&Mp> = match node {
                Mp::Array(a) => a.iter().collect(),
                Mp::Map(m) => m.iter().flat_map(|(k, v)| [k, v]).collect(),
                _ => Vec::new(),
            };
            for (i, c) in children.into_iter().enumerate().rev() {
                let mut p = path.clone();
                p.push(i);
                stack.push((p, c));
            }
            out.push(path);
        }
        out
    }

    /// The node at `path` (as `paths` numbers them).
    pub fn get_mut(&mut self, path: &[usize]) -> Option<&mut Mp> {
        let mut cur = self;
        for &i in path {
            cur = match cur {
                Mp::Array(a) => a.get_mut(i)?,
                Mp::Map(m) => {
                    let (k, v) = m.get_mut(i / 2)?;
                    if i % 2 == 0 {
                        k
                    } else {
                        v
                    }
                }
                _ => return None,
            };
        }
        Some(cur)
    }
}

impl Serialize for Mp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Mp::Nil => s.serialize_unit(),
            Mp::Bool(b) => s.serialize_bool(*b),
            Mp::Int(i) => s.serialize_i64(*i),
            Mp::UInt(u) => s.serialize_u64(*u),
            Mp::F32(f) => s.serialize_f32(*f),
            Mp::F64(f) => s.serialize_f64(*f),
            Mp::Str(t) => s.serialize_str(t),
            Mp::Bin(b) => s.serialize_bytes(b),
            Mp::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Mp::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

struct MpVisitor;

impl<'de> Visitor<'de> for MpVisitor {
    type Value = Mp;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any MessagePack value")
    }
    fn visit_unit<E>(self) -> Result<Mp, E> {
        Ok(Mp::Nil)
    }
    fn visit_none<E>(self) -> Result<Mp, E> {
        Ok(Mp::Nil)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Mp, E> {
        Ok(Mp::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Mp, E> {
        Ok(if v >= 0 {
            Mp::UInt(v as u64)
        } else {
            Mp::Int(v)
        })
    }
    fn visit_u64<E>(self, v: u64) -> Result<Mp, E> {
        Ok(Mp::UInt(v))
    }
    fn visit_f32<E>(self, v: f32) -> Result<Mp, E> {
        Ok(Mp::F32(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Mp, E> {
        Ok(Mp::F64(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Mp, E> {
        Ok(Mp::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Mp, E> {
        Ok(Mp::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Mp, E> {
        Ok(Mp::Bin(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Mp, E> {
        Ok(Mp::Bin(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Mp, A::Error> {
        let mut out = Vec::new();
        while let Some(x) = seq.next_element()? {
            out.push(x);
        }
        Ok(Mp::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Mp, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry()? {
            out.push((k, v));
        }
        Ok(Mp::Map(out))
    }
}

impl<'de> Deserialize<'de> for Mp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Mp, D::Error> {
        d.deserialize_any(MpVisitor)
    }
}
