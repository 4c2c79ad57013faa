//! Health checkers: HTTP_GET, SSL_GET, TCP_CHECK and MISC_CHECK on tokio.
