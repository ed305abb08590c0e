//! Deterministic processes: what a process started with `--deterministic` (or
//! `opts.deterministic = true`) carries so that its run depends only on its program, its seed
//! and its inputs — on any machine, however often it is snapshotted and restored.
//!
//! A deterministic process's [`Determinism`] lives in its kernel record and travels in its
//! snapshot. It holds:
//! - **its position**: a number derived from the tree's seed and the order in which each
//!   ancestor created its children, never from slot numbers or host state. The process's hash
//!   seed (`Heap::set_hash_seed`) and its random generator are derived from it, so two
//!   processes of one tree draw different numbers, and a run repeats them exactly;
//! - **its virtual clock**: time moves only by the fuel its meter records (its own work and its
//!   descendants', [`NS_PER_FUEL`] nanoseconds a unit) and by sleeps (its own and its
//!   descendants'), never by the host's clock. A sleep returns at once, its duration added;
//!   a child starts at its parent's time. A parent's clock is therefore never behind its
//!   children's, and a process that waited for a child reads a time after the child's end;
//! - **its random generator** for `caps.random` (xoshiro256**, seeded through splitmix64).
//!
//! `math.random` needs nothing here: a fresh process's generator is seeded from its heap's
//! hash seed (`Heap::secret_seed`), which is deterministic in such a process.
//!
//! **Invariant: every descendant of a deterministic process is deterministic**, and nothing a
//! deterministic process observes comes from the host except through its inputs (console
//! lines, files, sockets), which the kernel delivers before any other slice runs.

use crate::gateway::{HostError, HostFault, HostValue};
use serde::{Deserialize, Serialize};

/// Nanoseconds of virtual time one unit of fuel takes. One unit buys at most about ten
/// simple instructions (`cost`), some tens of nanoseconds on a current machine.
pub const NS_PER_FUEL: u64 = 10;

/// Where virtual time starts, in seconds since the Unix epoch: 2000-01-01 00:00:00 UTC.
pub const EPOCH_SECONDS: u64 = 946_684_800;

/// The longest sleep accepted, in seconds (as the host clock's: 366 days).
pub const MAX_SLEEP_SECONDS: f64 = 366.0 * 24.0 * 3600.0;

/// What makes a process deterministic (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Determinism {
    /// The tree's seed (`--seed N`), inherited by every child.
    seed: u64,
    /// Where the process sits in its tree (see `child`).
    position: u64,
    /// How many children it has created: the next child's birth order.
    children: u64,
    /// Virtual time at birth, in nanoseconds since the Unix epoch.
    born_ns: u64,
    /// What its fuel meter recorded at birth (a restored process's meter starts where the
    /// snapshot stopped).
    born_fuel: u64,
    /// Nanoseconds slept by it and its descendants.
    slept_ns: u64,
    /// The latest time it read: the clock never goes backwards, even when a gateway gives
    /// back fuel it had reserved.
    last_ns: u64,
    /// `caps.random`'s generator.
    random: [u64; 4],
}

use crate::xoshiro::splitmix64;

/// Two words mixed into one (splitmix64 of each, chained): the derivation of positions and
/// seeds. Fixed arithmetic, so the same on every machine.
fn mix(a: u64, b: u64) -> u64 {
    let mut x = a;
    let first = splitmix64(&mut x);
    let mut y = first ^ b;
    splitmix64(&mut y)
}

/// What a derived number is for, so that the hash seed and the generator never coincide.
const HASH_PURPOSE: u64 = 0x6861_7368; // "hash"
const RANDOM_PURPOSE: u64 = 0x7261_6e64; // "rand"

impl Determinism {
    /// The state of a tree's root: seed `seed`, time at [`EPOCH_SECONDS`], its meter at
    /// `fuel_used`.
    pub fn root(seed: u64, fuel_used: u64) -> Determinism {
        Determinism::born(seed, mix(seed, 0), EPOCH_SECONDS * 1_000_000_000, fuel_used)
    }

    fn born(seed: u64, position: u64, born_ns: u64, born_fuel: u64) -> Determinism {
        let random = crate::xoshiro::from_seed(mix(position, RANDOM_PURPOSE));
        Determinism {
            seed,
            position,
            children: 0,
            born_ns,
            born_fuel,
            slept_ns: 0,
            last_ns: born_ns,
            random,
        }
    }

    /// The state of the next child of a process whose state this is and whose time is
    /// `now_ns`, its meter at `fuel_used`. The birth order advances only through
    /// [`Determinism::count_child`], once the child exists: a spawn refused and made again
    /// gives the same child.
    pub fn child(&self, now_ns: u64, fuel_used: u64) -> Determinism {
        let position = mix(self.position, self.children.wrapping_add(1));
        Determinism::born(self.seed, position, now_ns, fuel_used)
    }

    /// A child was created with the state `child` gave.
    pub fn count_child(&mut self) {
        self.children = self.children.wrapping_add(1);
    }

    /// The hash seed of its heap.
    pub fn hash_seed(&self) -> u64 {
        mix(self.position, HASH_PURPOSE)
    }

    /// The tree's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Its virtual time, in nanoseconds since the Unix epoch, when its meter records
    /// `fuel_used` units.
    pub fn now_ns(&mut self, fuel_used: u64) -> u64 {
        let ran = fuel_used
            .saturating_sub(self.born_fuel)
            .saturating_mul(NS_PER_FUEL);
        let now = self
            .born_ns
            .saturating_add(ran)
            .saturating_add(self.slept_ns)
            .max(self.last_ns);
        self.last_ns = now;
        now
    }

    /// Adds a sleep of `ns` nanoseconds to its clock.
    pub fn slept(&mut self, ns: u64) {
        self.slept_ns = self.slept_ns.saturating_add(ns);
    }

    fn next_u64(&mut self) -> u64 {
        // xoshiro256**; a state of all zeros (a fixed point) can come only from a crafted
        // snapshot, and is replaced by the state of seed 0.
        if self.random == [0; 4] {
            self.random = Determinism::root(0, 0).random;
        }
        crate::xoshiro::next(&mut self.random)
    }

    /// A uniformly distributed integer in `lo..=hi` (`lo <= hi`), by rejection as the host's
    /// generator draws it.
    fn integer(&mut self, lo: i64, hi: i64) -> i64 {
        let span = hi.wrapping_sub(lo) as u64;
        if span == u64::MAX {
            return self.next_u64() as i64;
        }
        let n = span + 1;
        let reject_below = n.wrapping_neg() % n;
        loop {
            let x = self.next_u64();
            if x >= reject_below {
                return lo.wrapping_add((x % n) as i64);
            }
        }
    }

    /// `random:integer(lo, hi)` and `random:bytes(n)` (at most `max` bytes), answered from
    /// its generator with the host gateway's checks and messages.
    pub fn random_method(
        &mut self,
        method: crate::gateway::Method,
        args: &[HostValue],
        max: usize,
    ) -> Result<Vec<HostValue>, HostError> {
        use crate::gateway::Method;
        let name = method.name();
        match method {
            Method::RandomInteger => {
                let lo = integer_arg(name, args, 1)?;
                let hi = integer_arg(name, args, 2)?;
                if lo > hi {
                    return Err(HostError::new(
                        HostFault::Failed,
                        format!("random integer: empty range, lo ({lo}) > hi ({hi})"),
                    ));
                }
                Ok(vec![HostValue::Int(self.integer(lo, hi))])
            }
            Method::RandomBytes => {
                let n = integer_arg(name, args, 1)?;
                if n < 0 {
                    return Err(bad_arg(name, 1, "value must not be negative"));
                }
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n > max {
                    return Err(HostError::new(
                        HostFault::TooLarge,
                        format!("random bytes: asked for {n}, at most {max} allowed"),
                    ));
                }
                let mut out = vec![0u8; n];
                for chunk in out.chunks_mut(8) {
                    let word = self.next_u64().to_le_bytes();
                    chunk.copy_from_slice(&word[..chunk.len()]);
                }
                Ok(vec![HostValue::Bytes(out)])
            }
            _ => Err(HostError::new(
                HostFault::Failed,
                format!("a random key has no method '{name}'"),
            )),
        }
    }
}

/// A sleep's duration in nanoseconds, checked as the host clock checks it.
///
/// # Errors
/// NaN, a negative duration, or one longer than [`MAX_SLEEP_SECONDS`].
pub fn sleep_ns(args: &[HostValue]) -> Result<u64, HostError> {
    let seconds = number_arg("sleep", args, 1)?;
    let refuse = |m: String| Err(HostError::new(HostFault::Failed, m));
    if seconds.is_nan() {
        return refuse("sleep: the duration is not a number".into());
    }
    if seconds < 0.0 {
        return refuse(format!("sleep: negative duration {seconds}"));
    }
    if seconds > MAX_SLEEP_SECONDS {
        return refuse(format!(
            "sleep: duration {seconds} s is longer than the limit ({MAX_SLEEP_SECONDS} s)"
        ));
    }
    // In range by the checks above (at most ~3.2e16 ns).
    Ok((seconds * 1e9).round() as u64)
}

/// `bad argument #n to 'method' (extra)`, as `lauxlib` words it.
fn bad_arg(method: &str, n: usize, extra: &str) -> HostError {
    HostError::new(
        HostFault::Failed,
        format!("bad argument #{n} to '{method}' ({extra})"),
    )
}

/// Argument `n` (from 1, after the key) as a number (`luaL_checknumber`).
fn number_value(
    method: &str,
    args: &[HostValue],
    n: usize,
) -> Result<crate::number::Number, HostError> {
    use crate::number::Number;
    let v = args.get(n - 1);
    let expected = || {
        bad_arg(
            method,
            n,
            &format!("number expected, got {}", HostValue::type_name_of(v)),
        )
    };
    match v {
        Some(HostValue::Int(i)) => Ok(Number::Int(*i)),
        Some(HostValue::Float(f)) => Ok(Number::Float(*f)),
        Some(HostValue::Bytes(b)) => crate::number::str_to_number(b).ok_or_else(expected),
        _ => Err(expected()),
    }
}

fn number_arg(method: &str, args: &[HostValue], n: usize) -> Result<f64, HostError> {
    number_value(method, args, n).map(crate::number::Number::to_f64)
}

/// Argument `n` as an integer (`luaL_checkinteger`).
fn integer_arg(method: &str, args: &[HostValue], n: usize) -> Result<i64, HostError> {
    use crate::number::{float_to_int, FloatToInt, Number};
    match number_value(method, args, n)? {
        Number::Int(i) => Ok(i),
        Number::Float(f) => float_to_int(f, FloatToInt::Exact)
            .ok_or_else(|| bad_arg(method, n, "number has no integer representation")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::Method;

    fn ints(d: &mut Determinism, k: usize) -> Vec<i64> {
        (0..k)
            .map(|_| {
                match d.random_method(
                    Method::RandomInteger,
                    &[HostValue::Int(1), HostValue::Int(1 << 40)],
                    0,
                ) {
                    Ok(v) => match v[..] {
                        [HostValue::Int(i)] => i,
                        _ => panic!("one integer"),
                    },
                    Err(e) => panic!("{e}"),
                }
            })
            .collect()
    }

    #[test]
    fn a_seed_gives_one_sequence_and_children_differ() {
        let mut a = Determinism::root(7, 0);
        let mut b = Determinism::root(7, 0);
        assert_eq!(ints(&mut a, 20), ints(&mut b, 20));
        assert_ne!(ints(&mut Determinism::root(8, 0), 20), ints(&mut b, 20));
        let c1 = a.child(0, 0);
        a.count_child();
        let c2 = a.child(0, 0);
        assert_ne!(c1.position, c2.position);
        assert_ne!(c1.hash_seed(), c2.hash_seed());
        assert_ne!(c1.hash_seed(), a.hash_seed());
        // Asking for the next child again without creating it gives the same child.
        assert_eq!(a.child(5, 0), a.child(5, 0));
    }

    #[test]
    fn time_moves_by_fuel_and_sleeps_and_never_back() {
        let mut d = Determinism::root(1, 100);
        let start = EPOCH_SECONDS * 1_000_000_000;
        assert_eq!(d.now_ns(100), start);
        assert_eq!(d.now_ns(150), start + 50 * NS_PER_FUEL);
        d.slept(2_000_000_000);
        assert_eq!(d.now_ns(150), start + 500 + 2_000_000_000);
        // Fuel given back does not turn the clock back.
        assert_eq!(d.now_ns(120), start + 500 + 2_000_000_000);
    }

    #[test]
    fn arguments_are_checked_as_the_host_checks_them() {
        let mut d = Determinism::root(0, 0);
        let err = |r: Result<Vec<HostValue>, HostError>| r.unwrap_err().message;
        assert_eq!(
            err(d.random_method(Method::RandomInteger, &[HostValue::Int(5)], 0)),
            "bad argument #2 to 'integer' (number expected, got no value)"
        );
        assert_eq!(
            err(d.random_method(
                Method::RandomInteger,
                &[HostValue::Int(5), HostValue::Int(4)],
                0
            )),
            "random integer: empty range, lo (5) > hi (4)"
        );
        assert_eq!(
            err(d.random_method(Method::RandomBytes, &[HostValue::Float(1.5)], 9)),
            "bad argument #1 to 'bytes' (number has no integer representation)"
        );
        let too_many = d
            .random_method(Method::RandomBytes, &[HostValue::Int(10)], 9)
            .unwrap_err();
        assert_eq!(too_many.reason, HostFault::TooLarge);
        assert_eq!(
            d.random_method(Method::RandomBytes, &[HostValue::Bytes(b"3".to_vec())], 9)
                .map(|v| v[0].size()),
            Ok(16 + 3)
        );
        assert_eq!(sleep_ns(&[HostValue::Float(0.25)]), Ok(250_000_000));
        assert!(sleep_ns(&[HostValue::Float(f64::NAN)]).is_err());
        assert!(sleep_ns(&[HostValue::Int(-1)]).is_err());
        assert!(sleep_ns(&[HostValue::Float(1e12)]).is_err());
        assert_eq!(
            sleep_ns(&[]).unwrap_err().message,
            "bad argument #1 to 'sleep' (number expected, got no value)"
        );
    }
}
