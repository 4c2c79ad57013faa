//! keepalived's generated lines (multi-line parameters, `~SEQ`, `~SEQx`,
//! `~LST`, `${_RANDOM}`) expand in tandem exactly as in keepalived 2.2.7.
//!
//! Each case is a file whose every generated line starts with a word no
//! block knows, so both programs name it: keepalived -t logs "Unknown
//! keyword 'W'" and tandem reports `unknown keyword "W"`. The words
//! keepalived named are recorded below (from Debian's keepalived 2.2.7,
//! its VRRP process's pass, inside `unshare -n`); when that keepalived is
//! installed and the test runs as root, it is asked again and must still
//! agree. The positions tandem gives are checked too.

use std::path::Path;
use std::process::Command;

use tandem::config::{LoadOptions, load_str};

/// A multi-line parameter (continuation lines, a `~SEQ` inside it, a
/// comment line ending it), nested `~SEQ`s, the four `~SEQ` forms with
/// octal, hex and parameter numbers, `~LST` both ways, a parameter that
/// holds a `~LST`, a reference that does not end its line, a commented-out
/// `~SEQ`, `${_RANDOM MIN MAX}`, a commented line ending in `\` (it
/// continues the definition, in keepalived too).
const LANGUAGE: &str = "$M= first_${n} \\
  second_${n}  \\
~SEQ(q, 2) seq_in_def_${n}_${q}
$C=  \\
  kept_c \\
  # a comment-only line ends it
kw_after_comment
$N=2
$I=inner_
~SEQ(n, $N) ~SEQ(m, 1, 1, 2) nest_${n}_${m}
~SEQ(n, 1) $M
prefix_${n} $M
$M not_at_end
# ~SEQ(z, 3) $M
$C
~SEQ(r, 0x2, 04) $I$r
$I$r
${I}x_${_RANDOM 4 4}
$L=~LST({a,b},{x,y},{z}) lst_${a}_${b}
$L
~SEQ(h,10,-3,5) down_${h}
~SEQx(h, 0x9, 0x7, 0x18) hex_${h}
~SEQ(k, -2) neg_${k}
~LST(V, p, q) v_$V
after_${h}_$V
$E= \\
single

e2 $E
$K= \\
kw_k1 \\
  # an_old_option \\
kw_k2

$K
";

/// What keepalived 2.2.7 named for [`LANGUAGE`], in its order.
const LANGUAGE_KEEPALIVED: &[&str] = &[
    "kw_after_comment",
    "nest_1_1",
    "nest_1_2",
    "nest_2_1",
    "nest_2_2",
    "first_1",
    "second_1",
    "seq_in_def_1_1",
    "seq_in_def_1_2",
    "prefix_1",
    "second_1",
    "seq_in_def_1_1",
    "seq_in_def_1_2",
    "$M",
    "kept_c",
    "$I2",
    "$I3",
    "$I4",
    "$I4",
    "inner_x_4",
    "lst_x_y",
    "lst_z_",
    "down_10",
    "down_7",
    "hex_9",
    "hex_10",
    "hex_17",
    "neg_-1",
    "neg_-2",
    "v_p",
    "v_q",
    "after_17_q",
    "e2",
    "kw_k1",
    "kw_k2",
];

/// tandem's unknown keywords for `text`, each with its line and column.
fn tandem_words(text: &str) -> Vec<(String, u32, u32)> {
    let l = load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    );
    l.diagnostics
        .iter()
        .filter_map(|d| {
            let rest = d.message.strip_prefix("unknown keyword \"")?;
            let word = &rest[..rest.find('"')?];
            Some((word.to_string(), d.line, d.col))
        })
        .collect()
}

/// keepalived's unknown keywords for `text`, from its VRRP process's
/// pass (the lines naming the file); `None` when it cannot be asked.
fn keepalived_words(text: &str) -> Option<Vec<String>> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root || !Path::new("/usr/sbin/keepalived").exists() {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("tdm-lang-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let conf = dir.join("lang.conf");
    std::fs::write(&conf, text).ok()?;
    let pid = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let out = Command::new("unshare")
        .args(["-n", "/usr/sbin/keepalived", "-t", "-i", "main", "-f"])
        .arg(&conf)
        .args([
            "-p",
            &pid("k.pid"),
            "-r",
            &pid("v.pid"),
            "-c",
            &pid("c.pid"),
        ])
        .output()
        .ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    let log =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let words: Vec<String> = log
        .lines()
        .filter(|l| l.contains("lang.conf: Line"))
        .filter_map(|l| {
            let rest = &l[l.find("Unknown keyword '")? + 17..];
            Some(rest[..rest.rfind('\'')?].to_string())
        })
        .collect();
    // Each child process logs the same list: keep the first.
    let first = words.first()?.clone();
    let again = words.iter().skip(1).position(|w| *w == first);
    Some(match again {
        Some(i) => words[..i + 1].to_vec(),
        None => words,
    })
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn generated_lines_are_keepalived_s() {
    let got: Vec<String> = tandem_words(LANGUAGE).into_iter().map(|w| w.0).collect();
    let want: Vec<String> = LANGUAGE_KEEPALIVED.iter().map(|s| s.to_string()).collect();
    // tandem reports in file order, keepalived in reading order.
    assert_eq!(sorted(got), sorted(want.clone()));
    if let Some(live) = keepalived_words(LANGUAGE) {
        assert_eq!(
            live, want,
            "keepalived 2.2.7 now reads the case differently"
        );
    }
}

#[test]
fn random_is_in_range_and_fresh_per_reference() {
    let text = "~SEQ(i, 200) r_${_RANDOM 10 99}\n";
    let words = tandem_words(text);
    assert_eq!(words.len(), 200);
    let values: Vec<u32> = words
        .iter()
        .map(|w| w.0.strip_prefix("r_").unwrap().parse().unwrap())
        .collect();
    assert!(values.iter().all(|v| (10..=99).contains(v)), "{values:?}");
    let distinct: std::collections::BTreeSet<_> = values.iter().collect();
    assert!(distinct.len() > 20, "not random: {distinct:?}");
    // Without bounds: 0 to 32767.
    let words = tandem_words("~SEQ(i, 50) r_$_RANDOM\n");
    assert!(
        words
            .iter()
            .all(|w| w.0[2..].parse::<u32>().unwrap() <= 32767)
    );
}

#[test]
fn positions_point_where_the_text_was_written() {
    let text = "$M= \\\n  one \\\n    two\n\n~SEQ(i, 2)   x_${i}\n  y $M\n";
    let words = tandem_words(text);
    assert_eq!(
        words,
        [
            // A multi-line parameter's later line: in the definition.
            ("two".to_string(), 3, 5),
            // The repeated text: where it stands on the ~SEQ line.
            ("x_1".to_string(), 5, 14),
            ("x_2".to_string(), 5, 14),
            // The line holding the reference: as written.
            ("y".to_string(), 6, 3),
        ]
    );
}

#[test]
fn malformed_repeats_are_errors_at_the_directive() {
    for (text, col) in [
        ("  ~SEQ(i, 1, 0, 3) x\n", 3),
        ("~SEQ(i, 3 x\n", 1),
        ("~SEQx(i, -3) x\n", 1),
        ("~LST(V) x\n", 1),
        ("~LST({a}, {1, 2}) x\n", 1),
        ("$M= \\\n a \\\n b\n~SEQ(i, $M) x\n", 1),
        ("~SEQ(i, 1, 5000000) x\n", 1),
    ] {
        let l = load_str(
            Path::new("t.conf"),
            text.to_string(),
            &LoadOptions::with_config_id("main"),
        );
        let errs: Vec<_> = l.errors().collect();
        assert!(!errs.is_empty(), "{text:?} accepted");
        let last_line = text.lines().count() as u32;
        assert_eq!(
            (errs[0].line, errs[0].col),
            (last_line, col),
            "{text:?}: {}",
            errs[0]
        );
    }
}

#[test]
fn multi_line_definitions_build_a_working_configuration() {
    let text = "$VI= \\
vrrp_instance VI_${N} { \\
    interface eth0 \\
    virtual_router_id ${N} \\
    priority 1${N}0 \\
    virtual_ipaddress { \\
        192.0.2.${N}/24 \\
    } \\
}

~SEQ(N, 1, 3) $VI
";
    let l = load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    );
    let c = l.config.as_ref().expect("refused");
    let got: Vec<_> = c
        .vrrp_instances
        .iter()
        .map(|i| (i.name.clone(), i.virtual_router_id, i.priority))
        .collect();
    assert_eq!(
        got,
        [
            ("VI_1".to_string(), 1, 110),
            ("VI_2".to_string(), 2, 120),
            ("VI_3".to_string(), 3, 130)
        ]
    );
}

/// `random_seed N` fixes what `${_RANDOM}` gives on the lines after it:
/// one seed, one expansion, load after load; another seed, others; no
/// seed, a new draw each time. The daemon's own random numbers follow the
/// same seed (`tandem::process::random_u64`).
#[test]
fn random_seed_fixes_the_random_expansions_after_it() {
    let router_id = |seed: &str| {
        let text = format!(
            "global_defs {{\n  {seed}\n  router_id r${{_RANDOM 1 30000}}_${{_RANDOM 1 30000}}_${{_RANDOM 1 30000}}\n}}\n"
        );
        let l = load_str(
            Path::new("t.conf"),
            text,
            &LoadOptions::with_config_id("main"),
        );
        let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
        let c = l.config.unwrap_or_else(|| panic!("{msgs:?}"));
        assert!(msgs.is_empty(), "{msgs:?}");
        c.global_defs.router_id.unwrap()
    };
    let a = router_id("random_seed 12345");
    assert_eq!(a, router_id("random_seed 12345"));
    assert_ne!(a, router_id("random_seed 12346"));
    assert_ne!(router_id(""), router_id(""));
    let l = load_str(
        Path::new("t.conf"),
        "global_defs {\n  random_seed 12345\n}\n".to_string(),
        &LoadOptions::with_config_id("main"),
    );
    assert_eq!(l.config.unwrap().global_defs.random_seed, Some(12345));
}
