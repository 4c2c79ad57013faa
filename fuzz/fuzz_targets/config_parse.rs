//! Feed arbitrary bytes to the keepalived.conf reader: it must never panic,
//! and it must give a model exactly when it reports no error.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tandem::config::{LoadOptions, load_str};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    // A directory that does not exist, so relative includes find nothing.
    let loaded = load_str(
        Path::new("/nonexistent-tandem-fuzz/keepalived.conf"),
        text,
        &LoadOptions::with_config_id("main"),
    );
    assert_eq!(loaded.config.is_some(), !loaded.has_errors());
});
