//! Read-modify-write with If-Match, in one place: every conditional write
//! of maint (distribution configs, functions, store keys) goes through it.

use anyhow::Result;

/// One try of a conditional write (If-Match with an ETag just read).
pub(crate) enum Attempt<T> {
    Done(T),
    /// The ETag was stale (PreconditionFailed, ConflictException): someone
    /// else changed the resource since it was read.
    Stale,
}

/// How many times a conditional write is tried before giving up.
pub const IF_MATCH_ATTEMPTS: usize = 4;

/// Read-modify-write with If-Match, in one place: `attempt` reads the
/// resource (and its ETag), makes its change on top and writes it with
/// If-Match; a stale ETag means someone else changed it in between, so read
/// again and redo the change, and nobody's edit is lost.
pub(crate) async fn with_if_match<T, F, Fut>(what: &str, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Attempt<T>>>,
{
    for _ in 0..IF_MATCH_ATTEMPTS {
        if let Attempt::Done(done) = attempt().await? {
            return Ok(done);
        }
    }
    Err(crate::output::Failure::new(
        crate::output::Kind::Aws,
        format!("{what} kept changing while maint changed it"),
    )
    .hint("someone else is editing it: run the command again when they are done")
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stale_etag_is_read_again_a_bounded_number_of_times() {
        let mut tries = 0;
        let done = with_if_match("distribution E1", || {
            tries += 1;
            let stale = tries < 3;
            async move {
                Ok(if stale {
                    Attempt::Stale
                } else {
                    Attempt::Done(7)
                })
            }
        })
        .await
        .unwrap();
        assert_eq!((done, tries), (7, 3));
        let mut tries = 0;
        let err = with_if_match("distribution E1", || {
            tries += 1;
            async { Ok(Attempt::<()>::Stale) }
        })
        .await
        .unwrap_err();
        assert_eq!(tries, IF_MATCH_ATTEMPTS);
        let (kind, message, hint) = crate::output::describe(&err);
        assert_eq!(kind, crate::output::Kind::Aws);
        assert_eq!(
            message,
            "distribution E1 kept changing while maint changed it"
        );
        assert!(hint.unwrap().contains("someone else is editing it"));
    }
}
