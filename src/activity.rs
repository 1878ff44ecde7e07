//! What maint is doing right now: the AWS calls in flight and the waits under
//! way. When a command runs out of time (`--timeout`), its message names
//! them, so a user knows which operation hung and what AWS may still be doing.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT: AtomicU64 = AtomicU64::new(0);
static DOING: Mutex<BTreeMap<u64, String>> = Mutex::new(BTreeMap::new());

/// Marks `what` as under way until [`end`] is called with the returned id.
pub fn start(what: impl Into<String>) -> u64 {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut doing) = DOING.lock() {
        doing.insert(id, what.into());
    }
    id
}

pub fn end(id: u64) {
    if let Ok(mut doing) = DOING.lock() {
        doing.remove(&id);
    }
}

/// Marks `what` as under way for as long as the guard lives.
pub struct Doing(u64);

impl Drop for Doing {
    fn drop(&mut self) {
        end(self.0);
    }
}

pub fn doing(what: impl Into<String>) -> Doing {
    Doing(start(what))
}

/// What is under way, oldest first, each once.
pub fn now() -> Vec<String> {
    let Ok(doing) = DOING.lock() else {
        return Vec::new();
    };
    let mut seen = Vec::new();
    for what in doing.values() {
        if !seen.contains(what) {
            seen.push(what.clone());
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_under_way_is_listed_until_it_ends() {
        let wait = doing("waiting for distribution E1 to deploy");
        let call = start("CloudFront GetDistribution");
        let listed = now();
        assert!(listed.contains(&"waiting for distribution E1 to deploy".to_string()));
        assert!(listed.contains(&"CloudFront GetDistribution".to_string()));
        end(call);
        assert!(!now().contains(&"CloudFront GetDistribution".to_string()));
        drop(wait);
        assert!(!now().contains(&"waiting for distribution E1 to deploy".to_string()));
    }
}
