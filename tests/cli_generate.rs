//! `tandem generate man|completions DIR`: what the Debian package ships is
//! generated from the real command line, and covers every visible command.

use std::path::PathBuf;
use std::process::Command;

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn generate(what: &str) -> TempDir {
    let dir =
        TempDir(std::env::temp_dir().join(format!("tdm-generate-{what}-{}", std::process::id())));
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["generate", what])
        .arg(&dir.0)
        .output()
        .expect("run tandem generate");
    assert!(out.status.success(), "{out:?}");
    dir
}

#[test]
fn man_pages_for_every_visible_command() {
    let dir = generate("man");
    for page in [
        "tandem.1",
        "tandem-run.1",
        "tandem-status.1",
        "tandem-check-config.1",
    ] {
        let text = std::fs::read_to_string(dir.0.join(page)).expect(page);
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page} is not roff"
        );
    }
    let status = std::fs::read_to_string(dir.0.join("tandem-status.1")).expect("read");
    assert!(status.contains("\\-\\-json") && status.contains("/run/tandem/tandem.sock"));
    let run = std::fs::read_to_string(dir.0.join("tandem-run.1")).expect("read");
    assert!(run.contains("\\-\\-metrics\\-listen"));
    // The hidden packaging helper gets no page.
    assert!(!dir.0.join("tandem-generate.1").exists());
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let dir = generate("completions");
    for file in ["tandem", "_tandem", "tandem.fish"] {
        let text = std::fs::read_to_string(dir.0.join(file)).expect(file);
        assert!(text.contains("status"), "{file} lacks the status command");
        assert!(text.contains("check-config"), "{file} lacks check-config");
    }
}
