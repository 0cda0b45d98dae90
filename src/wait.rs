//! The waiting room: requests held until a provider's remote keys or its
//! first revocation list arrive — the policy, without the host.
//!
//! A request waits only when [`crate::decide::decide`] says so
//! ([`crate::decide::Decision::Wait`]); the room then bounds what waits and
//! how much work ending a wait costs:
//!
//! - **what waits**: at most [`MAX_WAITERS`] requests and [`MAX_WAITING_BYTES`]
//!   per VM, and at most [`MAX_UNKNOWN_KID_WAITERS`] per provider waiting for
//!   an unknown-`kid` refetch (anyone holding the public encryption key can
//!   send such tokens); beyond, the request is denied at once. A waiter keeps
//!   only what its re-decision needs ([`Parked`]: the token, bounded by
//!   `max_token_bytes`, and the rule's index), never the request's headers;
//! - **when a waiter is looked at again**: only when its provider's
//!   revision ([`crate::fetch_schedule::FetchSchedule::revisions`]) changed since it was
//!   parked or last re-decided — not on every tick — or when its deadline
//!   passed;
//! - **how much per host callback**: [`WaitRoom::take`] hands out at most
//!   [`BATCH`] waiters. Resuming or denying a request from the root context is
//!   a host call that re-enters the VM; hundreds in one callback overflowed
//!   V8's stack and killed the VM. The host takes one batch per tick (every
//!   100 ms), so the rest wait for the next pass.
//!
//! A waiter whose provider changed is decided again even when its deadline
//! has just passed (the keys it waited for are there), and every deadline
//! has [`SLACK_MS`] beyond the fetch timeout: a fetch starts at the tick
//! after the request parked.
//!
//! Time is an argument, in milliseconds since the epoch.

use crate::config::request::CompiledRule;
use crate::error::Reason;
use crate::verify::NO_KEY_FITS;
use std::collections::VecDeque;

/// Most requests waiting at once in one VM.
pub const MAX_WAITERS: usize = 1024;

/// Most bytes the waiting requests may hold in one VM: their tokens plus a
/// fixed cost per waiter ([`Waiter::cost`]).
pub const MAX_WAITING_BYTES: usize = 4 << 20;

/// Most requests of one provider waiting for an unknown-`kid` refetch.
pub const MAX_UNKNOWN_KID_WAITERS: usize = 64;

/// Most waiters resumed or denied in one host callback.
pub const BATCH: usize = 32;

/// Added to every wait's timeout: the fetch it waits for starts at the next
/// tick (100 ms) and its answer is served at the tick after.
pub const SLACK_MS: u64 = 200;

/// What a request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// The provider's first keys (or its discovery document).
    FirstKeys,
    /// A refetch of the provider's keys, after a `kid` none of them has.
    UnknownKid,
    /// The provider's first fetched revocation list.
    Revocation,
}

impl WaitFor {
    /// Why a request is denied when its wait ran out.
    pub fn timeout_reason(self) -> Reason {
        match self {
            WaitFor::FirstKeys | WaitFor::UnknownKid => Reason::KeysUnavailable,
            WaitFor::Revocation => Reason::RevocationUnavailable,
        }
    }

    /// Why a request is denied when there is no room for it to wait. An
    /// unknown `kid` is then what it would be without a refetch: no key fits.
    pub fn full_reason(self) -> Reason {
        match self {
            WaitFor::UnknownKid => NO_KEY_FITS,
            other => other.timeout_reason(),
        }
    }
}

/// What deciding again for a waiting request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    /// The provider whose keys or list it waits for (index in the configuration).
    pub provider: usize,
    pub why: WaitFor,
    /// The rule that matched (configured, from the route's metadata, or
    /// the default).
    pub rule: Box<CompiledRule>,
    /// The token (at most `max_token_bytes`: longer ones never wait).
    pub token: String,
    /// How long it may wait, milliseconds.
    pub timeout_ms: u64,
    /// The header edits an allow makes, computed from the request's headers
    /// when it was parked (the headers themselves are not kept).
    pub edits: Edits,
    /// What the client presented to bind its token to
    /// ([`crate::bind`]): checked when it is decided again.
    pub presented: Box<Presented>,
}

/// What a parked request presented for a sender-constrained token: the
/// connection's certificate digest, the trusted certificate headers and,
/// when a provider takes DPoP, its method, path, `:scheme`, `:authority`
/// and `dpop` headers and whether the token came with the DPoP scheme
/// (only these are kept of its headers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presented {
    pub peer_certificate_sha256: Option<String>,
    pub headers: Vec<(String, String)>,
    /// `:method` (empty unless a provider takes DPoP).
    pub method: String,
    /// `:path` (empty unless a provider takes DPoP).
    pub path: String,
    /// The token came as `Authorization: DPoP <token>`.
    pub dpop_scheme: bool,
}

impl Presented {
    /// The bytes this holds.
    fn bytes(&self) -> usize {
        let headers = self
            .headers
            .iter()
            .map(|(n, v)| n.len().saturating_add(v.len()))
            .fold(0usize, usize::saturating_add);
        headers
            .saturating_add(self.peer_certificate_sha256.as_ref().map_or(0, String::len))
            .saturating_add(self.method.len())
            .saturating_add(self.path.len())
            .saturating_add(
                self.headers
                    .len()
                    .saturating_mul(std::mem::size_of::<String>() * 2),
            )
    }
}

/// The header edits forwarding a waiting request needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edits {
    /// Managed headers the client sent, and `_` spellings of managed or
    /// source headers: always removed.
    pub remove: Vec<String>,
    /// The headers that carried the token: removed unless the provider
    /// forwards it.
    pub take: Vec<String>,
    /// `:path` or `cookie` without the token, unless the provider forwards it.
    pub rewrite: Vec<(&'static str, String)>,
}

impl Edits {
    /// The bytes these edits hold.
    fn bytes(&self) -> usize {
        let names = self.remove.iter().chain(&self.take).map(String::len);
        let values = self.rewrite.iter().map(|(_, v)| v.len());
        names
            .chain(values)
            .fold(0usize, usize::saturating_add)
            .saturating_add(
                (self.remove.len() + self.take.len() + self.rewrite.len())
                    .saturating_mul(std::mem::size_of::<String>() * 2),
            )
    }
}

/// A waiting request.
#[derive(Debug)]
pub struct Waiter {
    /// The host's id of the request (its HTTP context).
    pub context: u32,
    pub parked: Parked,
    /// When the wait ends, milliseconds since the epoch.
    pub deadline_ms: u64,
    /// The provider's revision when it was last decided for.
    seen: u64,
}

impl Parked {
    /// The bytes a waiter holding this counts against [`MAX_WAITING_BYTES`].
    fn cost(&self) -> usize {
        self.token
            .len()
            .saturating_add(self.edits.bytes())
            .saturating_add(self.presented.bytes())
            .saturating_add(std::mem::size_of::<Waiter>())
    }
}

impl Waiter {
    /// The bytes this waiter counts against [`MAX_WAITING_BYTES`].
    pub fn cost(&self) -> usize {
        self.parked.cost()
    }
}

/// What to do with a waiter [`WaitRoom::take`] handed out.
#[derive(Debug)]
pub enum Next {
    /// Its provider's state changed: decide again; if it must still wait,
    /// [`WaitRoom::requeue`] it.
    Decide(Waiter),
    /// Its deadline passed: deny it with [`WaitFor::timeout_reason`].
    Expire(Waiter),
}

/// The waiting requests of one VM, oldest first.
#[derive(Debug, Default)]
pub struct WaitRoom {
    waiters: VecDeque<Waiter>,
    bytes: usize,
}

fn revision(revisions: &[u64], provider: usize) -> u64 {
    revisions.get(provider).copied().unwrap_or(0)
}

impl WaitRoom {
    pub fn new() -> Self {
        WaitRoom::default()
    }

    /// Requests waiting.
    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// Bytes the waiting requests count.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Hold request `context` until its provider's state changes or its
    /// timeout passes. `Err` carries the reason to deny it with at once when
    /// there is no room; a [`Waiter`] is made only for a request that gets
    /// a place.
    pub fn park(
        &mut self,
        context: u32,
        parked: Parked,
        now_ms: u64,
        revisions: &[u64],
    ) -> Result<(), Reason> {
        let why = parked.why;
        let cost = parked.cost();
        let full = self.waiters.len() >= MAX_WAITERS
            || self.bytes.saturating_add(cost) > MAX_WAITING_BYTES
            || self.unknown_kid_full(why, parked.provider);
        if full {
            return Err(why.full_reason());
        }
        self.bytes = self.bytes.saturating_add(cost);
        self.waiters.push_back(Waiter {
            context,
            deadline_ms: now_ms
                .saturating_add(parked.timeout_ms)
                .saturating_add(SLACK_MS),
            seen: revision(revisions, parked.provider),
            parked,
        });
        Ok(())
    }

    /// True when one more waiter of `provider` waiting for `why` would pass
    /// [`MAX_UNKNOWN_KID_WAITERS`].
    fn unknown_kid_full(&self, why: WaitFor, provider: usize) -> bool {
        why == WaitFor::UnknownKid
            && self
                .waiters
                .iter()
                .filter(|w| w.parked.why == WaitFor::UnknownKid && w.parked.provider == provider)
                .count()
                >= MAX_UNKNOWN_KID_WAITERS
    }

    /// At most [`BATCH`] waiters to act on at `now_ms`, oldest first: those
    /// past their deadline, and those whose provider's revision differs from
    /// the one they were decided at. They leave the room.
    pub fn take(&mut self, now_ms: u64, revisions: &[u64]) -> Vec<Next> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.waiters.len() && out.len() < BATCH {
            let Some(w) = self.waiters.get(i) else { break };
            let expired = now_ms >= w.deadline_ms;
            let changed = revision(revisions, w.parked.provider) != w.seen;
            if !expired && !changed {
                i += 1;
                continue;
            }
            let Some(w) = self.waiters.remove(i) else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(w.cost());
            // What it waited for may have come just now: decide first.
            out.push(if changed {
                Next::Decide(w)
            } else {
                Next::Expire(w)
            });
        }
        out
    }

    /// A waiter handed out by [`WaitRoom::take`] must still wait (now for
    /// `why`): it keeps its deadline and is looked at again when its
    /// provider's revision moves on again. `Err` (deny it with that reason)
    /// when its deadline has passed, or when it now waits for an unknown-`kid`
    /// refetch and its provider already has [`MAX_UNKNOWN_KID_WAITERS`] (first
    /// keys that name none of the kids of 1,024 forged tokens must not turn
    /// them all into unknown-`kid` waiters).
    pub fn requeue(
        &mut self,
        mut waiter: Waiter,
        why: WaitFor,
        now_ms: u64,
        revisions: &[u64],
    ) -> Result<(), Reason> {
        if now_ms >= waiter.deadline_ms {
            return Err(why.timeout_reason());
        }
        if self.unknown_kid_full(why, waiter.parked.provider) {
            return Err(why.full_reason());
        }
        waiter.seen = revision(revisions, waiter.parked.provider);
        waiter.parked.why = why;
        self.bytes = self.bytes.saturating_add(waiter.cost());
        self.waiters.push_back(waiter);
        Ok(())
    }

    /// Request `context` ended while it waited (the client went away):
    /// forget it. True if it was waiting.
    pub fn remove(&mut self, context: u32) -> bool {
        match self.waiters.iter().position(|w| w.context == context) {
            Some(i) => {
                if let Some(w) = self.waiters.remove(i) {
                    self.bytes = self.bytes.saturating_sub(w.cost());
                }
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parked(provider: usize, why: WaitFor, token_len: usize) -> Parked {
        Parked {
            provider,
            why,
            rule: Box::new(CompiledRule::DEFAULT),
            token: "t".repeat(token_len),
            timeout_ms: 1000,
            edits: Edits::default(),
            presented: Box::default(),
        }
    }

    fn contexts(next: &[Next]) -> Vec<(u32, bool)> {
        next.iter()
            .map(|n| match n {
                Next::Decide(w) => (w.context, false),
                Next::Expire(w) => (w.context, true),
            })
            .collect()
    }

    #[test]
    fn counts_are_capped() {
        let mut room = WaitRoom::new();
        let revs = [0];
        for c in 0..MAX_WAITERS {
            let c = u32::try_from(c).unwrap();
            assert_eq!(
                room.park(c, parked(0, WaitFor::FirstKeys, 10), 0, &revs),
                Ok(())
            );
        }
        assert_eq!(
            room.park(9999, parked(0, WaitFor::FirstKeys, 10), 0, &revs),
            Err(Reason::KeysUnavailable)
        );
        assert_eq!(
            room.park(9999, parked(0, WaitFor::Revocation, 10), 0, &revs),
            Err(Reason::RevocationUnavailable)
        );
        assert_eq!(room.len(), MAX_WAITERS);
    }

    #[test]
    fn bytes_are_capped() {
        let mut room = WaitRoom::new();
        let big = 1 << 20;
        let mut parked_ok = 0;
        for c in 0..10 {
            if room
                .park(c, parked(0, WaitFor::FirstKeys, big), 0, &[0])
                .is_ok()
            {
                parked_ok += 1;
            }
        }
        assert_eq!(
            parked_ok, 3,
            "three 1 MiB tokens fit in 4 MiB, a fourth does not"
        );
        assert!(room.bytes() <= MAX_WAITING_BYTES);
        // Room frees as waiters leave.
        assert!(room.remove(0));
        assert!(!room.remove(0));
        assert!(room
            .park(20, parked(0, WaitFor::FirstKeys, big), 0, &[0])
            .is_ok());
    }

    #[test]
    fn unknown_kid_waiters_are_capped_per_provider() {
        let mut room = WaitRoom::new();
        let revs = [0, 0];
        for c in 0..MAX_UNKNOWN_KID_WAITERS {
            let c = u32::try_from(c).unwrap();
            assert!(room
                .park(c, parked(0, WaitFor::UnknownKid, 10), 0, &revs)
                .is_ok());
        }
        assert_eq!(
            room.park(500, parked(0, WaitFor::UnknownKid, 10), 0, &revs),
            Err(NO_KEY_FITS),
            "denied at once, as without a refetch"
        );
        // Another provider, and other waits of the same one, still have room.
        assert!(room
            .park(501, parked(1, WaitFor::UnknownKid, 10), 0, &revs)
            .is_ok());
        assert!(room
            .park(502, parked(0, WaitFor::FirstKeys, 10), 0, &revs)
            .is_ok());
    }

    #[test]
    fn waiters_are_looked_at_only_when_their_provider_changed_or_time_ran_out() {
        let mut room = WaitRoom::new();
        room.park(1, parked(0, WaitFor::FirstKeys, 10), 1000, &[5, 7])
            .unwrap();
        room.park(2, parked(1, WaitFor::FirstKeys, 10), 1500, &[5, 7])
            .unwrap();
        assert!(room.take(1500, &[5, 7]).is_empty(), "nothing changed");
        // Provider 1 changed: only its waiter is decided again.
        let next = room.take(1600, &[5, 8]);
        assert_eq!(contexts(&next), vec![(2, false)]);
        // It must wait on: requeued at the new revision, not handed out again.
        for n in next {
            if let Next::Decide(w) = n {
                room.requeue(w, WaitFor::Revocation, 1600, &[5, 8]).unwrap();
            }
        }
        assert!(room.take(1700, &[5, 8]).is_empty());
        // Deadlines: 1000 + 1000 + slack for the first, 1500 + 1000 + slack
        // for the second.
        assert_eq!(contexts(&room.take(2000 + SLACK_MS - 1, &[5, 8])), vec![]);
        assert_eq!(
            contexts(&room.take(2000 + SLACK_MS, &[5, 8])),
            vec![(1, true)]
        );
        assert_eq!(contexts(&room.take(2499 + SLACK_MS, &[5, 8])), vec![]);
        assert_eq!(
            contexts(&room.take(2500 + SLACK_MS, &[5, 8])),
            vec![(2, true)]
        );
        assert!(room.is_empty());
        assert_eq!(room.bytes(), 0);
    }

    #[test]
    fn one_batch_per_pass() {
        let mut room = WaitRoom::new();
        for c in 0..100 {
            room.park(c, parked(0, WaitFor::FirstKeys, 10), 0, &[0])
                .unwrap();
        }
        let mut seen = Vec::new();
        for _ in 0..3 {
            let next = room.take(5000, &[0]);
            assert_eq!(next.len(), BATCH);
            seen.extend(contexts(&next));
        }
        let rest = room.take(5000, &[0]);
        assert_eq!(rest.len(), 100 - 3 * BATCH);
        seen.extend(contexts(&rest));
        assert_eq!(
            seen,
            (0..100).map(|c| (c, true)).collect::<Vec<_>>(),
            "oldest first, every one exactly once"
        );
        assert!(room.take(5000, &[0]).is_empty());
    }

    #[test]
    fn a_changed_provider_is_decided_even_past_the_deadline() {
        let mut room = WaitRoom::new();
        room.park(1, parked(0, WaitFor::FirstKeys, 10), 0, &[0])
            .unwrap();
        assert_eq!(contexts(&room.take(60_000, &[1])), vec![(1, false)]);
    }

    #[test]
    fn requeue_keeps_the_unknown_kid_cap_and_the_deadline() {
        let mut room = WaitRoom::new();
        // Forged tokens wait for first keys...
        for c in 0..(MAX_UNKNOWN_KID_WAITERS as u32 + 10) {
            room.park(c, parked(0, WaitFor::FirstKeys, 10), 0, &[0])
                .unwrap();
        }
        // ...which arrive and name none of their kids: only the cap may wait
        // on for the refetch.
        let mut waiting = 0;
        let mut denied = 0;
        loop {
            let next = room.take(100, &[1]);
            if next.is_empty() {
                break;
            }
            for n in next {
                let Next::Decide(w) = n else {
                    panic!("not expired")
                };
                match room.requeue(w, WaitFor::UnknownKid, 100, &[1]) {
                    Ok(()) => waiting += 1,
                    Err(reason) => {
                        assert_eq!(reason, NO_KEY_FITS);
                        denied += 1;
                    }
                }
            }
        }
        assert_eq!((waiting, denied), (MAX_UNKNOWN_KID_WAITERS, 10));
        // Past its deadline a waiter is not requeued.
        let Some(Next::Decide(w)) = room.take(100, &[2]).into_iter().next() else {
            panic!("decided again");
        };
        assert_eq!(
            room.requeue(w, WaitFor::UnknownKid, 5000, &[2]),
            Err(Reason::KeysUnavailable)
        );
    }
}
