//! `notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo` and their
//! `_script` forms in global_defs: the model each gives, and each
//! mistake's message and position (where keepalived 2.2.7 ignores a line,
//! tandem refuses the file).

use std::path::Path;

use tandem::config::{LoadOptions, Loaded, load_str};

fn check(text: &str) -> Loaded {
    load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    )
}

fn messages(text: &str) -> Vec<String> {
    check(text)
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect()
}

#[test]
fn the_three_fifos_and_their_scripts() {
    let l = check(
        "global_defs {\n  vrrp_notify_fifo_script \"/bin/reader -v\" nobody\n  vrrp_notify_fifo /run/k/vrrp.fifo nobody nogroup\n\
         notify_fifo /run/k/all.fifo\n  lvs_notify_fifo /run/k/lvs.fifo\n  lvs_notify_fifo_script /bin/lvs-reader\n}\n",
    );
    let Some(c) = l.config else {
        panic!("{:?}", l.diagnostics)
    };
    let g = &c.global_defs;
    let vrrp = g.vrrp_notify_fifo.as_ref().unwrap();
    assert_eq!(vrrp.path, "/run/k/vrrp.fifo");
    let owner = vrrp.user.as_ref().unwrap();
    assert_eq!(
        (owner.user.as_str(), owner.group.as_deref()),
        ("nobody", Some("nogroup"))
    );
    let script = vrrp.script.as_ref().unwrap();
    assert_eq!(script.command, "/bin/reader -v");
    assert_eq!(script.user.as_ref().unwrap().user, "nobody");
    let all = g.notify_fifo.as_ref().unwrap();
    assert!(all.user.is_none() && all.script.is_none());
    assert_eq!(
        g.lvs_notify_fifo
            .as_ref()
            .unwrap()
            .script
            .as_ref()
            .unwrap()
            .command,
        "/bin/lvs-reader"
    );
}

#[test]
fn mistakes_in_the_fifo_keywords() {
    assert_eq!(
        messages(
            "global_defs {\n  notify_fifo /run/a\n  notify_fifo /run/b\n  vrrp_notify_fifo /run/a\n  lvs_notify_fifo_script /bin/r\n\
             vrrp_notify_fifo_script\n  lvs_notify_fifo /run/l u g extra\n}\n"
        ),
        [
            "t.conf:3:3: error: \"notify_fifo\" is already set at line 2; keepalived keeps the first and ignores this one",
            "t.conf:4:3: error: vrrp_notify_fifo /run/a is also the notify_fifo (line 2): each FIFO must be another file",
            "t.conf:6:1: error: \"vrrp_notify_fifo_script\" needs a script",
            "t.conf:7:30: error: unexpected \"extra\" after \"lvs_notify_fifo\"",
        ]
    );
    assert_eq!(
        messages("global_defs {\n  lvs_notify_fifo_script /bin/r\n}\n"),
        [
            "t.conf:2:3: error: lvs_notify_fifo_script has no lvs_notify_fifo to read (keepalived never starts it): give \"lvs_notify_fifo PATH\""
        ]
    );
}

#[test]
fn an_unknown_fifo_owner_or_script_user_is_refused_with_its_position() {
    let l = check(
        "global_defs {\n  vrrp_notify_fifo /run/x.fifo nosuchuser-s7\n  lvs_notify_fifo /run/l.fifo\n  lvs_notify_fifo_script /bin/cat nosuchuser-s7\n}\n",
    );
    let c = l.config.expect("syntax is fine");
    let (errors, _) = tandem::notify::script::check_config(&c);
    let got: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].contains("lvs_notify_fifo_script") && got[0].contains("t.conf:4:35"),
        "{got:?}"
    );
    assert!(
        got[1].contains("vrrp_notify_fifo") && got[1].contains("t.conf:2:32"),
        "{got:?}"
    );
}
