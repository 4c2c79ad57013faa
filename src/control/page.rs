//! The status page served at `/` by the status listener ([`super::web`]).
//!
//! One self-contained HTML document (`status_page.html`, built into the
//! binary): inline style and script, no external asset, no CDN, so it
//! works on a balancer with no way out and leaks nothing to a third party.
//! Its script polls `/status` once a second and draws the snapshot — each
//! VRRP instance's state and priority, each virtual server with its real
//! servers, weights and health, the last transitions and failed checks
//! with their times — so the page and `tandem status --json` can never
//! disagree: there is one model, rendered in the browser.
//!
//! Owns the page's text and the headers that keep it contained; no I/O.

/// The page.
pub const HTML: &str = include_str!("status_page.html");

/// Its content type.
pub const CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// What the browser may do with the page: run its own inline script and
/// style, fetch from this listener only, load nothing else, be framed by
/// nobody.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; img-src 'none'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_only_reads() {
        let lower = HTML.to_ascii_lowercase();
        for external in [
            "<script src",
            "<link",
            "@import",
            "http://",
            "https://",
            "//cdn",
        ] {
            assert!(!lower.contains(external), "page refers to {external:?}");
        }
        // It polls /status and never sends anything else.
        assert!(HTML.contains("fetch(\"status\""));
        assert_eq!(HTML.matches("fetch(").count(), 1);
        for write in ["POST", "PUT", "DELETE", "/reload", "innerHTML"] {
            assert!(!HTML.contains(write), "page mentions {write:?}");
        }
    }
}
