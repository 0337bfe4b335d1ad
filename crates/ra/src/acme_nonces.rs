//! Where ACME nonces live: in memory when the database is SQLite, in the database when it is
//! PostgreSQL.
//!
//! A nonce must be checked by whichever node receives the next request. With PostgreSQL
//! several nodes share the database, so nonces are rows there (one insert per response, one
//! delete per request). SQLite is embedded: one process owns the database, so every request
//! reaches the process that issued the nonce, and a nonce kept in memory is as good — and it
//! spares two durable commits (two fsyncs) per ACME request, the largest cost of an order
//! (docs/benchmarks.md, "ACME orders"). A restart forgets the nonces, which costs each
//! client one `badNonce` answer (it carries a fresh nonce; clients retry with it).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Most nonces kept in memory. When more are outstanding the oldest are forgotten (a client
/// that comes back with one gets `badNonce` and a fresh nonce): at 5,000 nonces a second a
/// nonce still lives 100 seconds, far longer than a client waits between two requests.
pub const MAX_NONCES_IN_MEMORY: usize = 500_000;

/// The nonces issued and not yet used, with their expiry (Unix seconds).
#[derive(Debug, Default)]
pub(crate) struct NonceBook {
    inner: Mutex<Book>,
}

#[derive(Debug, Default)]
struct Book {
    live: HashMap<String, i64>,
    /// Issue order, to forget the oldest first (taken nonces stay here until they reach the
    /// front; removing them from `live` again is harmless).
    issued: VecDeque<(String, i64)>,
}

impl NonceBook {
    /// Records a new nonce, forgetting expired and, beyond the cap, the oldest ones.
    pub(crate) fn issue(&self, nonce: String, expires_at: i64, now: i64) {
        let Ok(mut book) = self.inner.lock() else {
            return;
        };
        while let Some((old, expiry)) = book.issued.front() {
            if *expiry > now && book.issued.len() < MAX_NONCES_IN_MEMORY {
                break;
            }
            let old = old.clone();
            book.issued.pop_front();
            book.live.remove(&old);
        }
        book.live.insert(nonce.clone(), expires_at);
        book.issued.push_back((nonce, expires_at));
    }

    /// Uses up `nonce`: true once for a nonce issued here and not expired.
    pub(crate) fn take(&self, nonce: &str, now: i64) -> bool {
        let Ok(mut book) = self.inner.lock() else {
            return false;
        };
        book.live.remove(nonce).is_some_and(|expiry| expiry > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_good_once_and_only_until_it_expires() {
        let book = NonceBook::default();
        book.issue("a".into(), 100, 0);
        book.issue("b".into(), 100, 0);
        assert!(book.take("a", 50));
        assert!(!book.take("a", 50), "used");
        assert!(!book.take("c", 50), "never issued");
        assert!(!book.take("b", 100), "expired");
    }

    #[test]
    fn expired_nonces_are_forgotten_as_new_ones_come() {
        let book = NonceBook::default();
        book.issue("old".into(), 10, 0);
        book.issue("new".into(), 100, 20);
        let inner = book.inner.lock().unwrap();
        assert_eq!(inner.live.len(), 1);
        assert_eq!(inner.issued.len(), 1);
    }
}
