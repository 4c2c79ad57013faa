//! Handing this module's sockets to the tokio reactor.
//!
//! One place for the `unsafe` registration, so every socket of `net` is
//! registered under the same ownership rule. Owns no socket itself.

/// Register a socket this module owns with the tokio reactor.
pub(super) fn register<T: std::os::fd::AsRawFd>(
    inner: T,
) -> std::io::Result<tokio::io::unix::AsyncFd<T>> {
    // SAFETY: `inner` owns its file descriptor and the `AsyncFd` owns
    // `inner`, so the descriptor stays open exactly as long as it is
    // registered, and nothing else closes it.
    Ok(unsafe { tokio::io::unix::AsyncFd::register(inner) }?)
}
