//! `track_file` / `vrrp_track_file`, the `track_file { }` entries of
//! vrrp_instance and vrrp_sync_group, and `FILE_CHECK`: the model each
//! spelling gives, and each mistake's message and position (where
//! keepalived 2.2.7 reports a problem and ignores the line, tandem
//! refuses the file).

use std::path::Path;

use tandem::config::{Config, LoadOptions, Loaded, load_str};

fn check(text: &str) -> Loaded {
    load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    )
}

fn model(text: &str) -> Config {
    let l = check(text);
    match l.config {
        Some(c) => c,
        None => panic!("refused: {:?}", l.diagnostics),
    }
}

fn messages(text: &str) -> Vec<String> {
    check(text)
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect()
}

const INSTANCE: &str = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress { 192.0.2.1 }\n";

#[test]
fn a_track_file_block_with_every_option() {
    let c = model(
        "track_file tf {\n  file \"/run/tandem/t f\"\n  weight -3 reverse\n  init_file overwrite -7\n}\n\
         vrrp_track_file old {\n  file /run/old\n  init_file\n}\n",
    );
    let tf = c.track_file("tf").unwrap();
    assert_eq!(tf.file, "/run/tandem/t f");
    assert_eq!((tf.weight, tf.weight_reverse), (-3, true));
    let init = tf.init_file.unwrap();
    assert_eq!((init.value, init.overwrite), (-7, true));
    let old = c.track_file("old").unwrap();
    assert_eq!(
        (old.weight, old.weight_reverse),
        (1, false),
        "keepalived's default"
    );
    let init = old.init_file.unwrap();
    assert_eq!((init.value, init.overwrite), (0, false));
    assert_eq!(
        messages("vrrp_track_file old {\n  file /run/old\n}\n"),
        ["t.conf:1:1: warning: \"vrrp_track_file\" is deprecated; use \"track_file\""]
    );
}

#[test]
fn instance_and_group_entries_take_the_file_weight_unless_they_give_one() {
    let c = model(&format!(
        "track_file tf {{\n  file /run/tf\n  weight 2 reverse\n}}\n\
         track_file t0 {{\n  file /run/t0\n  weight 0\n}}\n\
         {INSTANCE}  track_file {{\n    tf\n    t0 weight -20\n  }}\n}}\n\
         vrrp_instance VI_2 {{\n  interface eth0\n  virtual_router_id 52\n  track_file {{\n    tf weight 0 noreverse\n  }}\n}}\n\
         vrrp_sync_group G {{\n  group {{ VI_2 }}\n  track_file {{ t0 weight 4 }}\n}}\n"
    ));
    let vi1 = c.vrrp_instance("VI_1").unwrap();
    let got: Vec<_> = vi1
        .track_file
        .iter()
        .map(|e| (e.name.as_str(), e.weight, e.reverse))
        .collect();
    assert_eq!(got, [("tf", 2, true), ("t0", -20, false)]);
    // VI_2 is a sync group member: only weight 0 on its own entries; the
    // group itself may carry a weighted entry, as keepalived allows.
    let g = c.vrrp_sync_group("G").unwrap();
    assert_eq!(
        (g.track_file[0].name.as_str(), g.track_file[0].weight),
        ("t0", 4)
    );
}

#[test]
fn a_file_check_takes_the_file_weight_unless_it_gives_one() {
    let c = model(
        "track_file tf {\n  file /run/tf\n  weight 5 reverse\n}\n\
         virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.5 80 {\n\
         FILE_CHECK {\n track_file tf\n }\n FILE_CHECK {\n track_file tf\n weight -100000 noreverse\n }\n  }\n}\n",
    );
    let rs = &c.virtual_servers[0].real_servers[0];
    let got: Vec<_> = rs
        .file_checks
        .iter()
        .map(|f| (f.track_file.as_str(), f.weight, f.reverse))
        .collect();
    assert_eq!(got, [("tf", 5, true), ("tf", -100000, false)]);
}

#[test]
fn mistakes_in_a_track_file_block() {
    assert_eq!(
        messages(
            "track_file tf {\n  file /run/a\n  file /run/b\n  weight 300\n  weight 2 back\n  init_file x 99999999999\n  init_file 300\n  fille /run/c\n}\n\
             track_file nofile {\n  weight 2\n}\ntrack_file tf {\n  file /run/c\n}\n"
        ),
        [
            "t.conf:3:3: error: \"file\" is already set at line 2; keepalived keeps the first and ignores this one",
            "t.conf:4:10: error: weight 300 is out of range (-254-254)",
            "t.conf:5:3: error: \"weight\" is already set at line 4; keepalived keeps the first and ignores this one",
            "t.conf:6:13: error: unexpected \"x\" after init_file; expected a number or \"overwrite\"",
            "t.conf:6:15: error: init_file 99999999999 is out of range (-2147483648-2147483647)",
            "t.conf:7:13: warning: init_file 300 is outside the range a VRRP priority can use (-254..254); written as it is (keepalived warns too)",
            "t.conf:8:3: error: unknown keyword \"fille\" in track_file; did you mean \"file\"? (keepalived 2.2.7 would log it and skip the line)",
            "t.conf:10:1: error: track_file nofile has no \"file\" (keepalived ignores such a block)",
            "t.conf:13:1: error: track_file tf is already defined at t.conf:1:1; keepalived uses the first",
        ]
    );
}

#[test]
fn mistakes_in_track_file_entries() {
    let text = format!(
        "track_file tf {{\n  file /run/tf\n}}\n{INSTANCE}  track_file {{\n    tf\n    tf weight 2\n    tff\n    late\n    tf wieght 3\n    tf weight\n    tf weight 255\n    tf weight 3 rev\n  }}\n}}\ntrack_file late {{\n  file /run/late\n}}\n"
    );
    assert_eq!(
        messages(&text),
        [
            "t.conf:10:5: error: vrrp_instance VI_1: track_file tf is already tracked at t.conf:9:5; keepalived ignores this entry",
            "t.conf:11:5: error: vrrp_instance VI_1: no track_file named \"tff\"; did you mean \"tf\"?",
            "t.conf:12:5: error: vrrp_instance VI_1: track_file late is defined only later, at t.conf:19:1; keepalived finds a track_file only when its block comes first (it would ignore this entry): move the block up",
            "t.conf:13:8: error: unexpected \"wieght\" after tf; expected \"weight N\"",
            "t.conf:14:8: error: \"weight\" needs a number",
            "t.conf:15:15: error: weight 255 is out of range (-254-254)",
            "t.conf:16:17: error: expected \"reverse\" or \"noreverse\", not \"rev\"",
        ]
    );
}

#[test]
fn mistakes_in_a_file_check() {
    let text = "track_file tf {\n  file /run/tf\n}\nvirtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.5 80 {\n    FILE_CHECK {\n      weight 3\n    }\n    FILE_CHECK {\n      track_file tg\n      dynamic\n      weight 2147483648\n    }\n  }\n}\n";
    assert_eq!(
        messages(text),
        [
            "t.conf:7:5: error: FILE_CHECK has no \"track_file\" (keepalived ignores such a checker)",
            "t.conf:11:18: error: FILE_CHECK: no track_file named \"tg\"; did you mean \"tf\"?",
            "t.conf:12:7: error: unknown keyword \"dynamic\" in FILE_CHECK (keepalived 2.2.7 would log it and skip the line)",
            "t.conf:13:14: error: weight 2147483648 is out of range (-2147483647-2147483647)",
        ]
    );
}

#[test]
fn sync_group_members_and_owners_take_weight_0_as_keepalived() {
    let head = "track_file tf {\n  file /run/tf\n}\n";
    // A member's own entry with the default weight 1 becomes weight 0.
    let text = format!(
        "{head}{INSTANCE}  track_file {{ tf }}\n}}\nvrrp_sync_group G {{\n  group {{ VI_1 }}\n}}\n"
    );
    assert_eq!(
        messages(&text),
        [
            "t.conf:8:16: warning: vrrp_instance VI_1: track_file tf has weight 1, but VI_1 is in vrrp_sync_group G: keepalived uses weight 0 (a nonzero value is FAULT); write \"weight 0\" to say so"
        ]
    );
    assert_eq!(
        model(&text).vrrp_instance("VI_1").unwrap().track_file[0].weight,
        0
    );
    // Another weight: keepalived drops the entry; tandem refuses.
    let text = format!(
        "{head}vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 255\n  virtual_ipaddress {{ 192.0.2.1 }}\n  track_file {{ tf weight -5 }}\n}}\n"
    );
    assert_eq!(
        messages(&text),
        [
            "t.conf:9:16: error: vrrp_instance VI_1: track_file tf has weight -5, but VI_1 is the address owner (priority 255): keepalived ignores this entry; use \"weight 0\" (or track the file in the sync group)"
        ]
    );
    // A group with an owner among its members: its entries get weight 0.
    let text = format!(
        "{head}vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 255\n  virtual_ipaddress {{ 192.0.2.1 }}\n}}\nvrrp_sync_group G {{\n  group {{ VI_1 }}\n  track_file {{ tf weight 9 }}\n}}\n"
    );
    let c = model(&text);
    assert_eq!(c.vrrp_sync_group("G").unwrap().track_file[0].weight, 0);
    assert_eq!(
        messages(&text),
        [
            "t.conf:12:16: warning: vrrp_sync_group G: track_file tf has weight 9, but a member is the address owner (priority 255): keepalived uses weight 0 (a nonzero value is FAULT)"
        ]
    );
}
