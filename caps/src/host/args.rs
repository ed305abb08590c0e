//! Arguments of a gateway method, checked the way `lauxlib` checks a C function's arguments,
//! with its messages: `bad argument #1 to 'read' (string expected, got boolean)`. Numbering
//! starts at the first argument after the key (Lua's method-call convention), and numbers are
//! accepted where strings are expected (and numeric strings where numbers are), as Lua does.

use std::borrow::Cow;

use kernel::gateway::{HostError, HostValue};
use kernel::number::{float_to_int, number_to_string, str_to_number, FloatToInt, Number};

/// The arguments of one call, with the method's name for messages.
pub(crate) struct Args<'a> {
    method: &'a str,
    values: &'a [HostValue],
}

impl<'a> Args<'a> {
    pub(crate) fn new(method: &'a str, values: &'a [HostValue]) -> Args<'a> {
        Args { method, values }
    }

    /// `bad argument #n to 'method' (extra)`, kind `error`.
    pub(crate) fn error(&self, n: usize, extra: impl std::fmt::Display) -> HostError {
        HostError::new(
            kernel::gateway::HostFault::Failed,
            format!("bad argument #{n} to '{}' ({extra})", self.method),
        )
    }

    fn get(&self, n: usize) -> Option<&'a HostValue> {
        self.values.get(n - 1)
    }

    fn type_error(&self, n: usize, expected: &str) -> HostError {
        let got = HostValue::type_name_of(self.get(n));
        self.error(n, format!("{expected} expected, got {got}"))
    }

    /// Whether argument `n` is nil or absent.
    pub(crate) fn is_none(&self, n: usize) -> bool {
        matches!(self.get(n), None | Some(HostValue::Nil))
    }

    /// How many arguments were passed.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Argument `n` (from 1) as bytes; a number becomes its `tostring` text.
    pub(crate) fn bytes(&self, n: usize) -> Result<Cow<'a, [u8]>, HostError> {
        match self.get(n) {
            Some(HostValue::Bytes(b)) => Ok(Cow::Borrowed(b)),
            Some(HostValue::Int(i)) => {
                Ok(Cow::Owned(number_to_string(Number::Int(*i)).into_bytes()))
            }
            Some(HostValue::Float(f)) => {
                Ok(Cow::Owned(number_to_string(Number::Float(*f)).into_bytes()))
            }
            _ => Err(self.type_error(n, "string")),
        }
    }

    /// Argument `n` as bytes, or `None` if it is nil or absent.
    pub(crate) fn opt_bytes(&self, n: usize) -> Result<Option<Cow<'a, [u8]>>, HostError> {
        match self.get(n) {
            None | Some(HostValue::Nil) => Ok(None),
            Some(_) => self.bytes(n).map(Some),
        }
    }

    /// Argument `n` as text (lossy UTF-8: for hosts, specs and rights, whose checks refuse
    /// anything the replacement character stands for).
    pub(crate) fn text(&self, n: usize) -> Result<String, HostError> {
        Ok(String::from_utf8_lossy(&self.bytes(n)?).into_owned())
    }

    /// Argument `n` as a number (`luaL_checknumber`).
    fn number_value(&self, n: usize) -> Result<Number, HostError> {
        match self.get(n) {
            Some(HostValue::Int(i)) => Ok(Number::Int(*i)),
            Some(HostValue::Float(f)) => Ok(Number::Float(*f)),
            Some(HostValue::Bytes(b)) => {
                str_to_number(b).ok_or_else(|| self.type_error(n, "number"))
            }
            _ => Err(self.type_error(n, "number")),
        }
    }

    /// Argument `n` as a float.
    pub(crate) fn number(&self, n: usize) -> Result<f64, HostError> {
        self.number_value(n).map(Number::to_f64)
    }

    /// Argument `n` as an integer (`luaL_checkinteger`: a float must have an exact integer
    /// value).
    pub(crate) fn integer(&self, n: usize) -> Result<i64, HostError> {
        match self.number_value(n)? {
            Number::Int(i) => Ok(i),
            Number::Float(f) => float_to_int(f, FloatToInt::Exact)
                .ok_or_else(|| self.error(n, "number has no integer representation")),
        }
    }

    /// Argument `n` as an integer, or `default` if it is nil or absent.
    pub(crate) fn opt_integer(&self, n: usize, default: i64) -> Result<i64, HostError> {
        match self.get(n) {
            None | Some(HostValue::Nil) => Ok(default),
            Some(_) => self.integer(n),
        }
    }

    /// Argument `n` as a count: an integer `>= 0`, as a `usize` (saturating on hosts whose
    /// `usize` is narrower than 64 bits).
    pub(crate) fn count(&self, n: usize) -> Result<usize, HostError> {
        let i = self.integer(n)?;
        if i < 0 {
            return Err(self.error(n, "value must not be negative"));
        }
        Ok(usize::try_from(i).unwrap_or(usize::MAX))
    }

    /// Argument `n` as a port number, `0..=65535`.
    pub(crate) fn port(&self, n: usize) -> Result<u16, HostError> {
        let i = self.integer(n)?;
        u16::try_from(i).map_err(|_| self.error(n, "port out of range 0..65535"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lauxlibs() {
        let v = [
            HostValue::Bool(true),
            HostValue::Float(1.5),
            HostValue::Bytes(b"12".to_vec()),
            HostValue::Int(-1),
        ];
        let a = Args::new("read", &v);
        let msg = |e: HostError| e.message;
        assert_eq!(
            msg(a.bytes(1).unwrap_err()),
            "bad argument #1 to 'read' (string expected, got boolean)"
        );
        assert_eq!(
            msg(a.bytes(5).unwrap_err()),
            "bad argument #5 to 'read' (string expected, got no value)"
        );
        assert_eq!(
            msg(a.integer(2).unwrap_err()),
            "bad argument #2 to 'read' (number has no integer representation)"
        );
        assert_eq!(
            msg(a.count(4).unwrap_err()),
            "bad argument #4 to 'read' (value must not be negative)"
        );
        assert_eq!(&*a.bytes(2).unwrap(), b"1.5");
        assert_eq!(a.integer(3).unwrap(), 12);
        assert_eq!(a.opt_integer(9, 7).unwrap(), 7);
        assert_eq!(
            a.bytes(1).unwrap_err().reason,
            kernel::gateway::HostFault::Failed
        );
        assert_eq!(a.len(), 4);
    }
}
