//! The scanner (Lua 5.4's `llex.c`): turns source bytes into tokens, one token of lookahead,
//! and builds lexical error messages exactly as Lua words them (`near '<token text>'`).
//!
//! The lexer also owns the string interner: names and string literals become `StrId`s, so the
//! parser compares names by id (as Lua compares interned `TString` pointers) and expression
//! descriptors stay `Copy`.

use super::SyntaxError;
use crate::number::{str_to_number, Number};
use std::collections::HashMap;

/// An interned string (name or literal).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StrId(pub u32);

/// Interns byte strings.
#[derive(Default)]
pub struct Interner {
    strings: Vec<Box<[u8]>>,
    map: HashMap<Box<[u8]>, u32>,
}

impl Interner {
    pub fn intern(&mut self, s: &[u8]) -> StrId {
        if let Some(&id) = self.map.get(s) {
            return StrId(id);
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.into());
        self.map.insert(s.into(), id);
        StrId(id)
    }
    pub fn get(&self, id: StrId) -> &[u8] {
        // Ids are only made by `intern`, so the index is always in range.
        &self.strings[id.0 as usize]
    }
}

/// A token. Single-byte symbols are `Char`; the rest follow Lua's `RESERVED` enum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tok {
    Char(u8),
    And,
    Break,
    Do,
    Else,
    ElseIf,
    End,
    False,
    For,
    Function,
    Goto,
    If,
    In,
    Local,
    Nil,
    Not,
    Or,
    Repeat,
    Return,
    Then,
    True,
    Until,
    While,
    IDiv,
    Concat,
    Dots,
    Eq,
    Ge,
    Le,
    Ne,
    Shl,
    Shr,
    DbColon,
    Eos,
    Flt(f64),
    Int(i64),
    Name(StrId),
    Str(StrId),
}

const RESERVED: [(&[u8], Tok); 22] = [
    (b"and", Tok::And),
    (b"break", Tok::Break),
    (b"do", Tok::Do),
    (b"else", Tok::Else),
    (b"elseif", Tok::ElseIf),
    (b"end", Tok::End),
    (b"false", Tok::False),
    (b"for", Tok::For),
    (b"function", Tok::Function),
    (b"goto", Tok::Goto),
    (b"if", Tok::If),
    (b"in", Tok::In),
    (b"local", Tok::Local),
    (b"nil", Tok::Nil),
    (b"not", Tok::Not),
    (b"or", Tok::Or),
    (b"repeat", Tok::Repeat),
    (b"return", Tok::Return),
    (b"then", Tok::Then),
    (b"true", Tok::True),
    (b"until", Tok::Until),
    (b"while", Tok::While),
];

/// `luaX_token2str`: how a token kind is shown in messages.
pub fn token2str(t: Tok) -> Vec<u8> {
    let fixed: &[u8] = match t {
        Tok::Char(c) => {
            return if (0x20..0x7f).contains(&c) {
                vec![b'\'', c, b'\'']
            } else {
                format!("'<\\{c}>'").into_bytes()
            };
        }
        Tok::Eos => return b"<eof>".to_vec(),
        Tok::Flt(_) => return b"<number>".to_vec(),
        Tok::Int(_) => return b"<integer>".to_vec(),
        Tok::Name(_) => return b"<name>".to_vec(),
        Tok::Str(_) => return b"<string>".to_vec(),
        Tok::IDiv => b"//",
        Tok::Concat => b"..",
        Tok::Dots => b"...",
        Tok::Eq => b"==",
        Tok::Ge => b">=",
        Tok::Le => b"<=",
        Tok::Ne => b"~=",
        Tok::Shl => b"<<",
        Tok::Shr => b">>",
        Tok::DbColon => b"::",
        other => RESERVED
            .iter()
            .find(|(_, r)| *r == other)
            .map(|(s, _)| *s)
            .unwrap_or(b"?"),
    };
    let mut v = vec![b'\''];
    v.extend_from_slice(fixed);
    v.push(b'\'');
    v
}

const EOZ: i32 = -1;

fn is_alpha(c: i32) -> bool {
    c >= 0 && ((c as u8).is_ascii_alphabetic() || c == b'_' as i32)
}
fn is_alnum(c: i32) -> bool {
    is_alpha(c) || is_digit(c)
}
fn is_digit(c: i32) -> bool {
    c >= 0 && (c as u8).is_ascii_digit()
}
fn is_xdigit(c: i32) -> bool {
    c >= 0 && (c as u8).is_ascii_hexdigit()
}
fn is_space(c: i32) -> bool {
    matches!(c, 0x20 | 0x09 | 0x0a | 0x0b | 0x0c | 0x0d)
}
fn hex_value(c: i32) -> u32 {
    (c as u8 as char).to_digit(16).unwrap_or(0)
}

pub struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    current: i32,
    pub linenumber: u32,
    /// Line of the last token consumed (instructions are tagged with it).
    pub lastline: u32,
    pub t: Tok,
    lookahead: Option<Tok>,
    buff: Vec<u8>,
    /// `luaO_chunkid` of the chunk name, prefix of every message.
    chunkid: Vec<u8>,
    pub strs: Interner,
    /// Compiler steps taken (tokens read, instructions emitted, list and scope walks) and
    /// the most the caller will pay for: work past it stops the compile before it is done.
    pub work: u64,
    pub work_limit: u64,
    /// The compile stopped because it reached `work_limit`.
    pub over_budget: bool,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a [u8], chunkid: Vec<u8>) -> Self {
        let mut l = Lexer {
            src,
            pos: 0,
            current: EOZ,
            linenumber: 1,
            lastline: 1,
            t: Tok::Eos,
            lookahead: None,
            buff: Vec::new(),
            chunkid,
            strs: Interner::default(),
            work: 0,
            work_limit: u64::MAX,
            over_budget: false,
        };
        l.advance();
        l
    }

    fn advance(&mut self) {
        self.current = match self.src.get(self.pos) {
            Some(&c) => {
                self.pos += 1;
                c as i32
            }
            None => EOZ,
        };
    }

    fn save(&mut self, c: i32) {
        self.buff.push(c as u8);
    }

    fn save_and_next(&mut self) {
        self.save(self.current);
        self.advance();
    }

    fn cur_is_newline(&self) -> bool {
        self.current == b'\n' as i32 || self.current == b'\r' as i32
    }

    fn check_next1(&mut self, c: u8) -> bool {
        if self.current == c as i32 {
            self.advance();
            true
        } else {
            false
        }
    }

    fn check_next2(&mut self, set: &[u8; 2]) -> bool {
        if self.current == set[0] as i32 || self.current == set[1] as i32 {
            self.save_and_next();
            true
        } else {
            false
        }
    }

    fn inc_line_number(&mut self) {
        let old = self.current;
        self.advance();
        if self.cur_is_newline() && self.current != old {
            self.advance();
        }
        self.linenumber = self.linenumber.saturating_add(1);
    }

    /// `chunkid:line: msg` (Lua's `luaG_addinfo`).
    pub fn add_info(&self, msg: &[u8], line: u32) -> Vec<u8> {
        let mut m = self.chunkid.clone();
        m.extend_from_slice(format!(":{line}: ").as_bytes());
        m.extend_from_slice(msg);
        m
    }

    /// Text of a token for `near ...` (`txtToken`): names, strings and numerals are shown as
    /// read from the source (the scanner buffer).
    fn txt_token(&self, t: Tok) -> Vec<u8> {
        match t {
            Tok::Name(_) | Tok::Str(_) | Tok::Flt(_) | Tok::Int(_) => {
                let b = &self.buff;
                // C's "%s" stops at the first NUL.
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                let mut v = vec![b'\''];
                v.extend_from_slice(&b[..end]);
                v.push(b'\'');
                v
            }
            _ => token2str(t),
        }
    }

    /// `lexerror`: message with position and, when `tok` is given, the offending token.
    /// A NUL byte read as a token is token 0 in C, which `lexerror`'s `if (token)` takes for
    /// "no token": the message then has no `near` part either.
    pub fn error(&self, msg: &[u8], tok: Option<Tok>) -> SyntaxError {
        let mut m = self.add_info(msg, self.linenumber);
        if let Some(t) = tok.filter(|&t| t != Tok::Char(0)) {
            m.extend_from_slice(b" near ");
            m.extend_from_slice(&self.txt_token(t));
        }
        SyntaxError {
            message: m,
            at_end: tok == Some(Tok::Eos),
        }
    }

    /// `luaX_syntaxerror`: error near the current token.
    pub fn syntax_error(&self, msg: &[u8]) -> SyntaxError {
        self.error(msg, Some(self.t))
    }

    /// Takes `steps` more compiler steps, or stops the compile when that would pass the
    /// limit (`over_budget` tells the caller it was the budget, not the source).
    pub fn spend(&mut self, steps: u64) -> Result<(), SyntaxError> {
        self.work = self.work.saturating_add(steps);
        if self.work > self.work_limit {
            self.over_budget = true;
            return Err(SyntaxError {
                message: b"not enough fuel to compile".to_vec(),
                at_end: false,
            });
        }
        Ok(())
    }

    /// `luaX_next`.
    pub fn next(&mut self) -> Result<(), SyntaxError> {
        // A token's bytes are paid for with the source; this pays for what the parser does
        // with it (a bounded number of instructions emitted per token).
        self.spend(1)?;
        self.lastline = self.linenumber;
        if let Some(t) = self.lookahead.take() {
            self.t = t;
        } else {
            self.t = self.llex()?;
        }
        Ok(())
    }

    /// `luaX_lookahead`.
    pub fn lookahead(&mut self) -> Result<Tok, SyntaxError> {
        let t = self.llex()?;
        self.lookahead = Some(t);
        Ok(t)
    }

    fn llex(&mut self) -> Result<Tok, SyntaxError> {
        self.buff.clear();
        loop {
            let c = self.current;
            if c == EOZ {
                return Ok(Tok::Eos);
            }
            let c = c as u8;
            match c {
                b'\n' | b'\r' => self.inc_line_number(),
                b' ' | 0x0c | b'\t' | 0x0b => self.advance(),
                b'-' => {
                    self.advance();
                    if self.current != b'-' as i32 {
                        return Ok(Tok::Char(b'-'));
                    }
                    self.advance();
                    if self.current == b'[' as i32 {
                        let sep = self.skip_sep();
                        self.buff.clear();
                        if sep >= 2 {
                            self.read_long_string(false, sep)?;
                            self.buff.clear();
                            continue;
                        }
                    }
                    while !self.cur_is_newline() && self.current != EOZ {
                        self.advance();
                    }
                }
                b'[' => {
                    let sep = self.skip_sep();
                    if sep >= 2 {
                        let s = self.read_long_string(true, sep)?;
                        return Ok(Tok::Str(s));
                    } else if sep == 0 {
                        return Err(
                            self.error(b"invalid long string delimiter", Some(Tok::Str(StrId(0))))
                        );
                    }
                    return Ok(Tok::Char(b'['));
                }
                b'=' => {
                    self.advance();
                    return Ok(if self.check_next1(b'=') {
                        Tok::Eq
                    } else {
                        Tok::Char(b'=')
                    });
                }
                b'<' => {
                    self.advance();
                    return Ok(if self.check_next1(b'=') {
                        Tok::Le
                    } else if self.check_next1(b'<') {
                        Tok::Shl
                    } else {
                        Tok::Char(b'<')
                    });
                }
                b'>' => {
                    self.advance();
                    return Ok(if self.check_next1(b'=') {
                        Tok::Ge
                    } else if self.check_next1(b'>') {
                        Tok::Shr
                    } else {
                        Tok::Char(b'>')
                    });
                }
                b'/' => {
                    self.advance();
                    return Ok(if self.check_next1(b'/') {
                        Tok::IDiv
                    } else {
                        Tok::Char(b'/')
                    });
                }
                b'~' => {
                    self.advance();
                    return Ok(if self.check_next1(b'=') {
                        Tok::Ne
                    } else {
                        Tok::Char(b'~')
                    });
                }
                b':' => {
                    self.advance();
                    return Ok(if self.check_next1(b':') {
                        Tok::DbColon
                    } else {
                        Tok::Char(b':')
                    });
                }
                b'"' | b'\'' => {
                    let s = self.read_string(c)?;
                    return Ok(Tok::Str(s));
                }
                b'.' => {
                    self.save_and_next();
                    if self.check_next1(b'.') {
                        return Ok(if self.check_next1(b'.') {
                            Tok::Dots
                        } else {
                            Tok::Concat
                        });
                    } else if !is_digit(self.current) {
                        return Ok(Tok::Char(b'.'));
                    }
                    return self.read_numeral();
                }
                b'0'..=b'9' => return self.read_numeral(),
                _ => {
                    if is_alpha(c as i32) {
                        loop {
                            self.save_and_next();
                            if !is_alnum(self.current) {
                                break;
                            }
                        }
                        if let Some((_, t)) = RESERVED.iter().find(|(s, _)| *s == &self.buff[..]) {
                            return Ok(*t);
                        }
                        let id = self.strs.intern(&self.buff);
                        return Ok(Tok::Name(id));
                    }
                    self.advance();
                    return Ok(Tok::Char(c));
                }
            }
        }
    }

    fn read_numeral(&mut self) -> Result<Tok, SyntaxError> {
        let first = self.current;
        let mut expo = b"Ee";
        self.save_and_next();
        if first == b'0' as i32 && self.check_next2(b"xX") {
            expo = b"Pp";
        }
        loop {
            if self.check_next2(expo) {
                self.check_next2(b"-+");
            } else if is_xdigit(self.current) || self.current == b'.' as i32 {
                self.save_and_next();
            } else {
                break;
            }
        }
        if is_alpha(self.current) {
            self.save_and_next(); // force an error
        }
        match str_to_number(&self.buff) {
            Some(Number::Int(i)) => Ok(Tok::Int(i)),
            Some(Number::Float(f)) => Ok(Tok::Flt(f)),
            None => Err(self.error(b"malformed number", Some(Tok::Flt(0.0)))),
        }
    }

    /// Reads `[=*[` or `]=*]`; returns level+2 when well formed, 1 for a lone bracket, 0 for
    /// `[=` without the second bracket (Lua's `skip_sep`).
    fn skip_sep(&mut self) -> usize {
        let s = self.current;
        let mut count = 0;
        self.save_and_next();
        while self.current == b'=' as i32 {
            self.save_and_next();
            count += 1;
        }
        if self.current == s {
            count + 2
        } else if count == 0 {
            1
        } else {
            0
        }
    }

    fn read_long_string(&mut self, is_string: bool, sep: usize) -> Result<StrId, SyntaxError> {
        let line = self.linenumber;
        self.save_and_next(); // skip 2nd '['
        if self.cur_is_newline() {
            self.inc_line_number();
        }
        loop {
            match self.current {
                EOZ => {
                    let what = if is_string { "string" } else { "comment" };
                    let msg = format!("unfinished long {what} (starting at line {line})");
                    return Err(self.error(msg.as_bytes(), Some(Tok::Eos)));
                }
                0x5d => {
                    // ']'
                    if self.skip_sep() == sep {
                        self.save_and_next();
                        break;
                    }
                }
                0x0a | 0x0d => {
                    self.save(b'\n' as i32);
                    self.inc_line_number();
                    if !is_string {
                        self.buff.clear();
                    }
                }
                _ => {
                    if is_string {
                        self.save_and_next();
                    } else {
                        self.advance();
                    }
                }
            }
        }
        if !is_string {
            return Ok(StrId(0));
        }
        let b = &self.buff;
        let s = if b.len() >= 2 * sep {
            &b[sep..b.len() - sep]
        } else {
            &[][..]
        };
        let s = s.to_vec();
        Ok(self.strs.intern(&s))
    }

    fn esc_check(&mut self, ok: bool, msg: &[u8]) -> Result<(), SyntaxError> {
        if !ok {
            if self.current != EOZ {
                self.save_and_next();
            }
            return Err(self.error(msg, Some(Tok::Str(StrId(0)))));
        }
        Ok(())
    }

    fn get_hexa(&mut self) -> Result<u32, SyntaxError> {
        self.save_and_next();
        self.esc_check(is_xdigit(self.current), b"hexadecimal digit expected")?;
        Ok(hex_value(self.current))
    }

    fn read_hexa_esc(&mut self) -> Result<i32, SyntaxError> {
        let mut r = self.get_hexa()?;
        r = (r << 4) + self.get_hexa()?;
        self.buff.truncate(self.buff.len() - 2);
        Ok(r as i32)
    }

    fn read_utf8_esc(&mut self) -> Result<u32, SyntaxError> {
        let mut i = 4; // chars to be removed: '\', 'u', '{', and first digit
        self.save_and_next(); // skip 'u'
        self.esc_check(self.current == b'{' as i32, b"missing '{'")?;
        let mut r = self.get_hexa()?;
        loop {
            self.save_and_next();
            if !is_xdigit(self.current) {
                break;
            }
            i += 1;
            self.esc_check(r <= (0x7FFF_FFFF >> 4), b"UTF-8 value too large")?;
            r = (r << 4) + hex_value(self.current);
        }
        self.esc_check(self.current == b'}' as i32, b"missing '}'")?;
        self.advance(); // skip '}'
        let n = self.buff.len().saturating_sub(i);
        self.buff.truncate(n);
        Ok(r)
    }

    fn utf8_esc(&mut self) -> Result<(), SyntaxError> {
        let x = self.read_utf8_esc()?;
        let mut buf = [0u8; 8];
        let n = utf8_encode(&mut buf, x);
        for &b in &buf[8 - n..] {
            self.buff.push(b);
        }
        Ok(())
    }

    fn read_dec_esc(&mut self) -> Result<i32, SyntaxError> {
        let mut r: i32 = 0;
        let mut i = 0;
        while i < 3 && is_digit(self.current) {
            r = 10 * r + self.current - b'0' as i32;
            self.save_and_next();
            i += 1;
        }
        self.esc_check(r <= 255, b"decimal escape too large")?;
        self.buff.truncate(self.buff.len() - i);
        Ok(r)
    }

    fn read_string(&mut self, del: u8) -> Result<StrId, SyntaxError> {
        self.save_and_next(); // keep delimiters for error messages
        while self.current != del as i32 {
            match self.current {
                EOZ => return Err(self.error(b"unfinished string", Some(Tok::Eos))),
                0x0a | 0x0d => {
                    return Err(self.error(b"unfinished string", Some(Tok::Str(StrId(0)))))
                }
                0x5c => {
                    // '\\'
                    self.save_and_next(); // keep '\\' for error messages
                    let c: i32 = match self.current {
                        EOZ => continue, // raises an error next loop
                        cur => match cur as u8 {
                            b'a' => 7,
                            b'b' => 8,
                            b'f' => 0x0c,
                            b'n' => 0x0a,
                            b'r' => 0x0d,
                            b't' => 9,
                            b'v' => 0x0b,
                            b'x' => self.read_hexa_esc()?,
                            b'u' => {
                                self.utf8_esc()?;
                                continue;
                            }
                            b'\n' | b'\r' => {
                                self.inc_line_number();
                                self.buff.pop();
                                self.save(b'\n' as i32);
                                continue;
                            }
                            b'\\' | b'"' | b'\'' => cur,
                            b'z' => {
                                self.buff.pop(); // remove '\\'
                                self.advance(); // skip the 'z'
                                while is_space(self.current) {
                                    if self.cur_is_newline() {
                                        self.inc_line_number();
                                    } else {
                                        self.advance();
                                    }
                                }
                                continue;
                            }
                            _ => {
                                self.esc_check(is_digit(self.current), b"invalid escape sequence")?;
                                let c = self.read_dec_esc()?;
                                self.buff.pop();
                                self.save(c);
                                continue;
                            }
                        },
                    };
                    // read_save: skip the escape character, replace '\\' with the value
                    self.advance();
                    self.buff.pop();
                    self.save(c);
                }
                _ => self.save_and_next(),
            }
        }
        self.save_and_next(); // skip delimiter
        let b = &self.buff;
        let s = b[1..b.len() - 1].to_vec();
        Ok(self.strs.intern(&s))
    }
}

/// `luaO_utf8esc`: encodes `x` (up to 2^31) backwards into the end of `buf`; returns the
/// number of bytes used (1 to 6).
pub fn utf8_encode(buf: &mut [u8; 8], mut x: u32) -> usize {
    let mut n = 1;
    if x < 0x80 {
        buf[7] = x as u8;
    } else {
        let mut mfb: u32 = 0x3f;
        loop {
            buf[8 - n] = (0x80 | (x & 0x3f)) as u8;
            n += 1;
            x >>= 6;
            mfb >>= 1;
            if x <= mfb {
                break;
            }
        }
        buf[8 - n] = ((!mfb << 1) | x) as u8;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex_all(src: &[u8]) -> Result<Vec<Tok>, SyntaxError> {
        let mut l = Lexer::new(src, b"t".to_vec());
        let mut v = Vec::new();
        loop {
            l.next()?;
            if l.t == Tok::Eos {
                return Ok(v);
            }
            v.push(l.t);
        }
    }

    fn lex_str(src: &[u8]) -> Vec<u8> {
        let mut l = Lexer::new(src, b"t".to_vec());
        l.next().unwrap();
        match l.t {
            Tok::Str(id) => l.strs.get(id).to_vec(),
            t => panic!("not a string: {t:?}"),
        }
    }

    #[test]
    fn symbols() {
        let t = lex_all(b"// >> << ~= :: ... .. . == >= <= ~ : = < >").unwrap();
        assert_eq!(
            t,
            vec![
                Tok::IDiv,
                Tok::Shr,
                Tok::Shl,
                Tok::Ne,
                Tok::DbColon,
                Tok::Dots,
                Tok::Concat,
                Tok::Char(b'.'),
                Tok::Eq,
                Tok::Ge,
                Tok::Le,
                Tok::Char(b'~'),
                Tok::Char(b':'),
                Tok::Char(b'='),
                Tok::Char(b'<'),
                Tok::Char(b'>')
            ]
        );
    }

    #[test]
    fn numerals() {
        let t = lex_all(b"3 0x10 1e2 0x1p4 .5 3. 0xA.8p0 9223372036854775808 0xffffffffffffffff")
            .unwrap();
        assert_eq!(
            t,
            vec![
                Tok::Int(3),
                Tok::Int(16),
                Tok::Flt(100.0),
                Tok::Flt(16.0),
                Tok::Flt(0.5),
                Tok::Flt(3.0),
                Tok::Flt(10.5),
                Tok::Flt(9223372036854775808.0),
                Tok::Int(-1)
            ]
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(
            lex_str(br#""\a\b\f\n\r\t\v\\\"\'""#),
            b"\x07\x08\x0c\n\r\t\x0b\\\"'"
        );
        assert_eq!(
            lex_str(b"'\\x41\\65\\u{48}\\u{7FFFFFFF}'"),
            b"AAH\xfd\xbf\xbf\xbf\xbf\xbf"
        );
        assert_eq!(lex_str(b"'a\\z  \n  b'"), b"ab");
        assert_eq!(lex_str(b"'a\\\r\nb'"), b"a\nb");
        assert_eq!(lex_str(b"[==[\nx]]y]==]"), b"x]]y");
        assert_eq!(lex_str(b"[[a\r\nb]]"), b"a\nb");
    }

    #[test]
    fn line_counting() {
        let mut l = Lexer::new(b"a\r\nb\n\rc\n\nd", b"t".to_vec());
        let mut lines = Vec::new();
        loop {
            l.next().unwrap();
            if l.t == Tok::Eos {
                break;
            }
            lines.push(l.linenumber);
        }
        assert_eq!(lines, vec![1, 2, 3, 5]);
    }

    #[test]
    fn errors() {
        let e = |s: &[u8]| String::from_utf8_lossy(&lex_all(s).unwrap_err().message).into_owned();
        assert_eq!(e(b"\"abc"), "t:1: unfinished string near <eof>");
        assert_eq!(e(b"\"abc\n"), "t:1: unfinished string near '\"abc'");
        assert_eq!(e(b"3x"), "t:1: malformed number near '3x'");
        assert_eq!(e(b"'\\q'"), "t:1: invalid escape sequence near ''\\q'");
        assert_eq!(
            e(b"'\\300'"),
            "t:1: decimal escape too large near ''\\300''"
        );
        assert_eq!(
            e(b"'\\u{80000000}'"),
            "t:1: UTF-8 value too large near ''\\u{80000000'"
        );
        assert_eq!(e(b"[==x"), "t:1: invalid long string delimiter near '[=='");
        assert_eq!(
            e(b"\n[[x"),
            "t:2: unfinished long string (starting at line 2) near <eof>"
        );
    }
}
