//! The builder: statements → the typed model.
//!
//! A recursive descent over blocks. Each block reads the keywords of its
//! table (see [`super::keywords`]); values are checked where they are
//! written, so each error points at the offending word. Settings that
//! inherit (global_defs → instances, virtual_server → real_server →
//! checker) are collected as `Option`s first and resolved once the whole
//! file is read, because keepalived allows a default to be written after
//! the blocks that inherit it.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::diag::{Diagnostic, Severity};
use super::keywords::{self, Block};
use super::lexer::Pos;
use super::model::*;
use super::parser::{Item, Parser, Stmt, Word};

/// Settings that flow virtual_server → real_server → checker.
#[derive(Debug, Clone, Default)]
struct Inherit {
    delay_loop: Option<Duration>,
    connect_timeout: Option<Duration>,
    retry: Option<u32>,
    delay_before_retry: Option<Duration>,
    warmup: Option<Duration>,
    alpha: Option<bool>,
    inhibit_on_failure: Option<bool>,
    virtualhost: Option<String>,
    smtp_alert: Option<bool>,
}

impl Inherit {
    /// `self` where set, else `parent`.
    fn over(&self, parent: &Inherit) -> Inherit {
        Inherit {
            delay_loop: self.delay_loop.or(parent.delay_loop),
            connect_timeout: self.connect_timeout.or(parent.connect_timeout),
            retry: self.retry.or(parent.retry),
            delay_before_retry: self.delay_before_retry.or(parent.delay_before_retry),
            warmup: self.warmup.or(parent.warmup),
            alpha: self.alpha.or(parent.alpha),
            inhibit_on_failure: self.inhibit_on_failure.or(parent.inhibit_on_failure),
            virtualhost: self
                .virtualhost
                .clone()
                .or_else(|| parent.virtualhost.clone()),
            smtp_alert: self.smtp_alert.or(parent.smtp_alert),
        }
    }
}

struct RawChecker {
    kind: CheckerKind,
    inh: Inherit,
    connect_ip: Option<IpAddr>,
    connect_port: Option<u16>,
    bindto: Option<IpAddr>,
    bind_port: Option<u16>,
    bind_if: Option<String>,
    fwmark: Option<u32>,
    log_all_failures: bool,
    misc_timeout: Option<Duration>,
    origin: Origin,
}

struct RawRs {
    rs: RealServer,
    port: Option<u16>,
    lvs_method: Option<(LvsMethod, Tunnel)>,
    inh: Inherit,
    checkers: Vec<RawChecker>,
}

struct RawVs {
    vs: VirtualServer,
    inh: Inherit,
    ip_family: Option<AddressFamily>,
    sorry: Option<(IpAddr, Option<u16>)>,
    sorry_method: Option<(LvsMethod, Tunnel)>,
    /// Scheduler flags as written, for the check against the scheduler.
    sched_flag_words: Vec<Word>,
    /// Where `protocol` was given (ignored for fwmark services).
    protocol_pos: Option<Pos>,
    rss: Vec<RawRs>,
}

#[derive(Default)]
struct RawInstance {
    inst: VrrpInstance,
    interface: Option<String>,
    vrid: Option<u8>,
    /// The keyword was written (even with a bad value): no "missing" error.
    interface_given: bool,
    vrid_given: bool,
    version: Option<(VrrpVersion, Pos)>,
    advert_int: Option<(Duration, Pos)>,
    smtp_alert: Option<bool>,
    skip_check_adv_addr: Option<bool>,
    garp_master_delay: Option<Duration>,
    garp_master_repeat: Option<u32>,
    garp_lower_prio_delay: Option<Duration>,
    garp_lower_prio_repeat: Option<u32>,
    garp_master_refresh: Option<Option<Duration>>,
    garp_master_refresh_repeat: Option<u32>,
    /// track_script entries with their own weight / reverse, if given.
    track_script: Vec<(TrackScript, Option<i32>, Option<bool>)>,
    auth_pos: Option<Pos>,
    /// Each address of the instance with where it was written.
    vip_pos: Vec<(IpAddr, Pos)>,
    /// Each unicast peer with where it was written.
    peer_pos: Vec<(IpAddr, Pos)>,
    /// Where the unicast_src_ip address was written.
    src_pos: Option<Pos>,
}

struct RawGroup {
    group: VrrpSyncGroup,
    smtp_alert: Option<bool>,
    track_script: Vec<(TrackScript, Option<i32>, Option<bool>)>,
}

pub(crate) struct Builder {
    p: Parser,
    global: GlobalDefs,
    lower_prio_delay_set: bool,
    lower_prio_repeat_set: bool,
    scripts: Vec<(VrrpScript, bool)>,
    groups: Vec<RawGroup>,
    instances: Vec<RawInstance>,
    vsgs: Vec<VirtualServerGroup>,
    /// Virtual servers are resolved as soon as their block ends (all
    /// their inheritance is inside the block), which keeps memory low on
    /// large configurations.
    vss: Vec<VirtualServer>,
    /// `smtp_alert` as written (None: not given) of each virtual server
    /// and of each real server, in order: resolved against global_defs at
    /// the end, since global_defs may come later in the file.
    vs_alert: Vec<Option<bool>>,
    rs_alert: Vec<Option<bool>>,
    /// (sync group, member word) for the reference check at the end.
    group_members: Vec<(String, Word)>,
}

/// Build the model from a statement stream. The model is always returned
/// (possibly partial); the diagnostics say whether it can be used.
/// The model, the diagnostics (not yet in file order) and the files read,
/// in the order they were opened (for [`super::sort_diagnostics`]).
pub(crate) fn build(p: Parser) -> (Config, Vec<Diagnostic>, Vec<Arc<Path>>) {
    let mut b = Builder {
        p,
        global: GlobalDefs::default(),
        lower_prio_delay_set: false,
        lower_prio_repeat_set: false,
        scripts: Vec::new(),
        groups: Vec::new(),
        instances: Vec::new(),
        vsgs: Vec::new(),
        vss: Vec::new(),
        vs_alert: Vec::new(),
        rs_alert: Vec::new(),
        group_members: Vec::new(),
    };
    b.top();
    let cfg = b.finish();
    let diags = std::mem::take(&mut b.p.lexer.diagnostics);
    let files = std::mem::take(&mut b.p.lexer.files);
    (cfg, diags, files)
}

// ---------------------------------------------------------------------------
// small value parsers (pure)

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// A keepalived TIMER: seconds, possibly fractional (µs resolution).
fn parse_timer(s: &str) -> Option<Duration> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    if !v.is_finite() || v > 1e9 {
        return None;
    }
    let micros = (v * 1_000_000.0).round() as u64;
    Some(Duration::from_micros(micros))
}

fn parse_bool_word(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

fn parse_prefix(s: &str) -> Option<IpPrefix> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let address: IpAddr = addr.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix_len = match len {
        Some(l) => {
            let v: u8 = l.parse().ok()?;
            if v > max {
                return None;
            }
            v
        }
        None => max,
    };
    Some(IpPrefix {
        address,
        prefix_len,
    })
}

fn netmask_to_prefix(s: &str) -> Option<u8> {
    if let Ok(v) = s.parse::<u8>() {
        return (v <= 128).then_some(v);
    }
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(m) => {
            let bits = u32::from(m);
            let ones = bits.leading_ones();
            (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
        }
        IpAddr::V6(m) => {
            let bits = u128::from(m);
            let ones = bits.leading_ones();
            (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
        }
    }
}

fn parse_scope(s: &str) -> Option<Scope> {
    match s {
        "global" => Some(Scope::Global),
        "site" => Some(Scope::Site),
        "link" => Some(Scope::Link),
        "host" => Some(Scope::Host),
        "nowhere" => Some(Scope::Nowhere),
        _ => None,
    }
}

fn parse_method(s: &str) -> Option<LvsMethod> {
    match s.to_ascii_uppercase().as_str() {
        "NAT" => Some(LvsMethod::Nat),
        "DR" => Some(LvsMethod::Dr),
        "TUN" => Some(LvsMethod::Tun),
        _ => None,
    }
}

/// The last address of a keepalived VSG range: `A-N` (last byte / last
/// group), `A-B` (full address) or `A/LEN`.
fn parse_range(s: &str) -> Option<(IpAddr, IpAddr)> {
    if let Some((a, len)) = s.split_once('/') {
        let first: IpAddr = a.parse().ok()?;
        let len: u32 = len.parse().ok()?;
        return match first {
            IpAddr::V4(f) if len <= 32 => {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                let base = u32::from(f) & mask;
                Some((IpAddr::V4(base.into()), IpAddr::V4((base | !mask).into())))
            }
            IpAddr::V6(f) if len <= 128 => {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                let base = u128::from(f) & mask;
                Some((IpAddr::V6(base.into()), IpAddr::V6((base | !mask).into())))
            }
            _ => None,
        };
    }
    let Some((a, b)) = s.split_once('-') else {
        let ip: IpAddr = s.parse().ok()?;
        return Some((ip, ip));
    };
    let first: IpAddr = a.parse().ok()?;
    if let Ok(last) = b.parse::<IpAddr>() {
        return (AddressFamily::of(&first) == AddressFamily::of(&last)).then_some((first, last));
    }
    match first {
        IpAddr::V4(f) => {
            let last: u8 = b.parse().ok()?;
            let mut o = f.octets();
            o[3] = last;
            Some((first, IpAddr::V4(o.into())))
        }
        IpAddr::V6(f) => {
            let last = u16::from_str_radix(b, 16).ok()?;
            let mut seg = f.segments();
            seg[7] = last;
            Some((first, IpAddr::V6(seg.into())))
        }
    }
}

fn ip_le(a: &IpAddr, b: &IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a <= b,
        (IpAddr::V6(a), IpAddr::V6(b)) => a <= b,
        _ => false,
    }
}

// ---------------------------------------------------------------------------

impl Builder {
    fn origin(&self, pos: Pos) -> Origin {
        Origin {
            file: self.p.lexer.file_of(pos).clone(),
            line: pos.line,
            col: pos.col,
        }
    }

    fn err(&mut self, pos: Pos, msg: impl Into<String>) {
        let file = self.p.lexer.file_of(pos).clone();
        self.p
            .lexer
            .diagnostics
            .push(Diagnostic::error(&file, pos.line, pos.col, msg));
    }

    fn warn(&mut self, pos: Pos, msg: impl Into<String>) {
        let file = self.p.lexer.file_of(pos).clone();
        self.p
            .lexer
            .diagnostics
            .push(Diagnostic::warning(&file, pos.line, pos.col, msg));
    }

    /// Walk the content of the block `s` opened, calling `f` for each
    /// statement, up to its `}`.
    fn block(&mut self, s: &Stmt, f: &mut dyn FnMut(&mut Self, Stmt)) {
        loop {
            match self.p.next_item() {
                Item::Close(_) => return,
                Item::Eof => {
                    let kw = s.keyword.text.clone();
                    self.err(
                        s.open,
                        format!(
                            "missing \"}}\": the block of \"{kw}\" opened here is never closed"
                        ),
                    );
                    return;
                }
                Item::Stmt(st) => f(self, st),
            }
        }
    }

    /// Like [`Self::block`] for blocks of keywords: a keyword given twice
    /// (other than those that add to a list) gets a warning, since the
    /// later value silently replacing the first is rarely what was meant.
    fn kw_block(&mut self, s: &Stmt, f: &mut dyn FnMut(&mut Self, Stmt)) {
        let mut seen: Vec<(String, Pos)> = Vec::new();
        self.block(s, &mut |b, st| {
            let kw = st.keyword.text.as_str();
            let name = keywords::deprecated_alias(kw).unwrap_or(kw);
            if !keywords::REPEATABLE.contains(&name) {
                if let Some((_, first)) = seen.iter().find(|(k, _)| k == name) {
                    let at = if first.file == st.keyword.pos.file {
                        format!("line {}", first.line)
                    } else {
                        let o = b.origin(*first);
                        o.to_string()
                    };
                    b.warn(
                        st.keyword.pos,
                        format!("\"{name}\" is given again; this replaces the value at {at}"),
                    );
                } else {
                    seen.push((name.to_string(), st.keyword.pos));
                }
            }
            f(b, st)
        });
    }

    /// The statement must open a block; false (with an error) if not.
    fn need_block(&mut self, s: &Stmt) -> bool {
        if !s.block {
            let kw = s.keyword.text.clone();
            self.err(
                s.keyword.pos,
                format!("\"{kw}\" needs a block: {kw} ... {{ ... }}"),
            );
        }
        s.block
    }

    /// The statement must not open a block; a block is reported and skipped.
    fn no_block(&mut self, s: &Stmt) {
        if s.block {
            let kw = s.keyword.text.clone();
            self.err(s.open, format!("\"{kw}\" does not take a block"));
            self.skip(s);
        }
    }

    fn skip(&mut self, s: &Stmt) {
        if s.block && !self.p.skip_block() {
            let kw = s.keyword.text.clone();
            self.err(
                s.open,
                format!("missing \"}}\": the block of \"{kw}\" opened here is never closed"),
            );
        }
    }

    /// A keyword that is not read in `block`: unsupported keepalived
    /// option, or unknown (with a suggestion). Its block is skipped.
    fn unknown(&mut self, block: Block, s: &Stmt) {
        let kw = s.keyword.text.as_str();
        let misplaced_top = block != Block::Top
            && !block.unsupported().contains(&kw)
            && (Block::Top.supported().contains(&kw) || Block::Top.unsupported().contains(&kw));
        let msg = if let Some(new) = keywords::deprecated_alias(kw) {
            // keepalived 2.2.7 refuses it here too ("Unknown keyword").
            format!(
                "\"{kw}\" is not read in {} (keepalived refuses it there too); use \"{new}\"",
                block.name()
            )
        } else if block == Block::MiscCheck && kw == "connect_timeout" {
            "\"connect_timeout\" is not read in MISC_CHECK (keepalived refuses it there too); use \"misc_timeout\"".to_string()
        } else if misplaced_top {
            format!(
                "\"{kw}\" cannot be inside {}; is a \"}}\" missing before it?",
                block.name()
            )
        } else if block.unsupported().contains(&kw) {
            keywords::unsupported_message(kw)
        } else {
            let cands = block.supported().iter().chain(block.unsupported()).copied();
            match keywords::suggest(kw, cands) {
                Some(m) => format!(
                    "unknown keyword \"{kw}\" in {}; did you mean \"{m}\"?",
                    block.name()
                ),
                // keepalived 1.x samples list the members directly in
                // the sync group; keepalived 2 wants them in group { }.
                None if block == Block::VrrpSyncGroup && s.args.is_empty() && !s.block => {
                    format!(
                        "\"{kw}\" is not a vrrp_sync_group keyword; a sync group lists its vrrp_instances inside group {{ ... }}"
                    )
                }
                None => format!("unknown keyword \"{kw}\" in {}", block.name()),
            }
        };
        self.err(s.keyword.pos, msg);
        self.skip(s);
    }

    /// Warn about a deprecated alias and return the current keyword. An
    /// alias is read only in the blocks where keepalived reads it
    /// (`nb_get_retry`: HTTP_GET and SSL_GET); elsewhere it is returned
    /// as written, for [`Self::unknown`] to refuse.
    fn alias(&mut self, s: &Stmt, block: Block) -> String {
        let kw = s.keyword.text.as_str();
        match keywords::deprecated_alias(kw) {
            Some(new) if block.supported().contains(&kw) => {
                let msg = format!("\"{kw}\" is deprecated; use \"{new}\"");
                self.warn(s.keyword.pos, msg);
                new.to_string()
            }
            _ => kw.to_string(),
        }
    }

    /// Exactly `n` arguments (extra ones are reported); the first `n`.
    fn args<'a>(&mut self, s: &'a Stmt, n: usize, what: &str) -> Option<&'a [Word]> {
        self.args_range(s, n, n, what)
    }

    fn args_range<'a>(
        &mut self,
        s: &'a Stmt,
        min: usize,
        max: usize,
        what: &str,
    ) -> Option<&'a [Word]> {
        if s.args.len() < min {
            let kw = &s.keyword.text;
            let msg = format!("\"{kw}\" needs {what}");
            self.err(s.keyword.pos, msg);
            return None;
        }
        if let Some(extra) = s.args.get(max) {
            let kw = &s.keyword.text;
            let msg = format!("unexpected \"{}\" after \"{kw}\"", extra.text);
            self.err(extra.pos, msg);
        }
        Some(&s.args[..s.args.len().min(max)])
    }

    fn one<'a>(&mut self, s: &'a Stmt, what: &str) -> Option<&'a Word> {
        self.no_block(s);
        self.args(s, 1, what).and_then(|a| a.first())
    }

    fn string(&mut self, s: &Stmt) -> Option<String> {
        self.one(s, "a value").map(|w| w.text.clone())
    }

    fn int_in(&mut self, s: &Stmt, lo: i64, hi: i64) -> Option<i64> {
        let w = self.one(s, "a number")?;
        self.int_word(&s.keyword.text, w, lo, hi)
    }

    fn int_word(&mut self, kw: &str, w: &Word, lo: i64, hi: i64) -> Option<i64> {
        let digits = w.text.strip_prefix('-').unwrap_or(&w.text);
        let huge = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        match w.text.parse::<i64>() {
            Ok(v) if (lo..=hi).contains(&v) => Some(v),
            Ok(_) => {
                self.err(
                    w.pos,
                    format!("{kw} {} is out of range ({lo}-{hi})", w.text),
                );
                None
            }
            Err(_) if huge => {
                self.err(
                    w.pos,
                    format!("{kw} {} is out of range ({lo}-{hi})", w.text),
                );
                None
            }
            Err(_) => {
                self.err(
                    w.pos,
                    format!("{kw} expects a whole number, not \"{}\"", w.text),
                );
                None
            }
        }
    }

    fn u32_val(&mut self, s: &Stmt) -> Option<u32> {
        self.int_in(s, 0, i64::from(u32::MAX)).map(|v| v as u32)
    }

    fn timer(&mut self, s: &Stmt) -> Option<Duration> {
        let w = self.one(s, "a time in seconds")?;
        self.timer_word(&s.keyword.text, w)
    }

    fn timer_word(&mut self, kw: &str, w: &Word) -> Option<Duration> {
        let t = parse_timer(&w.text);
        if t.is_none() {
            self.err(
                w.pos,
                format!(
                    "{kw} expects a time in seconds (e.g. 3 or 0.5), not \"{}\"",
                    w.text
                ),
            );
        }
        t
    }

    /// `KEYWORD [BOOL]`: no argument means yes.
    fn flag(&mut self, s: &Stmt) -> bool {
        self.no_block(s);
        let Some(args) = self.args_range(s, 0, 1, "") else {
            return true;
        };
        match args.first() {
            None => true,
            Some(w) => match parse_bool_word(&w.text) {
                Some(b) => b,
                None => {
                    let msg = format!(
                        "{} expects on|off|true|false|yes|no, not \"{}\"",
                        s.keyword.text, w.text
                    );
                    self.err(w.pos, msg);
                    true
                }
            },
        }
    }

    /// A keyword with no argument.
    fn bare(&mut self, s: &Stmt) {
        self.no_block(s);
        self.args(s, 0, "");
    }

    fn ip_word(&mut self, kw: &str, w: &Word) -> Option<IpAddr> {
        let ip = parse_ip(&w.text);
        if ip.is_none() {
            self.err(
                w.pos,
                format!("{kw} expects an IP address, not \"{}\"", w.text),
            );
        }
        ip
    }

    fn ip(&mut self, s: &Stmt) -> Option<IpAddr> {
        let w = self.one(s, "an IP address")?;
        self.ip_word(&s.keyword.text, w)
    }

    fn port_word(&mut self, kw: &str, w: &Word) -> Option<u16> {
        self.int_word(kw, w, 0, 65535).map(|v| v as u16)
    }

    fn port(&mut self, s: &Stmt) -> Option<u16> {
        let w = self.one(s, "a port number")?;
        self.port_word(&s.keyword.text, w)
    }

    /// `notify_* SCRIPT [USER [GROUP]]`.
    fn notify_script(&mut self, s: &Stmt) -> Option<NotifyScript> {
        self.no_block(s);
        let args = self.args_range(s, 1, 3, "a script")?;
        let command = args[0].text.clone();
        if command.trim().is_empty() {
            self.err(
                args[0].pos,
                format!("{} has an empty script", s.keyword.text),
            );
            return None;
        }
        let user = args.get(1).map(|u| ScriptUser {
            user: u.text.clone(),
            group: args.get(2).map(|g| g.text.clone()),
            origin: self.origin(u.pos),
        });
        let origin = self.origin(s.keyword.pos);
        Some(NotifyScript {
            command,
            user,
            origin,
        })
    }

    fn script_user(&mut self, s: &Stmt) -> Option<ScriptUser> {
        self.no_block(s);
        let args = self.args_range(s, 1, 2, "a user name")?;
        Some(ScriptUser {
            user: args[0].text.clone(),
            group: args.get(1).map(|g| g.text.clone()),
            origin: self.origin(args[0].pos),
        })
    }

    /// A block of words (names, e-mail addresses).
    fn word_list(&mut self, s: &Stmt) -> Vec<Word> {
        let mut out = Vec::new();
        if !self.need_block(s) {
            return out;
        }
        // Like keepalived, every word of the block is an entry, whether
        // one per line or several on a line.
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            out.push(st.keyword);
            out.extend(st.args);
        });
        out
    }

    // -----------------------------------------------------------------------
    // top level

    fn top(&mut self) {
        loop {
            match self.p.next_item() {
                Item::Eof => return,
                Item::Close(pos) => self.err(pos, "unexpected \"}\" (no block is open)"),
                Item::Stmt(s) => match s.keyword.text.as_str() {
                    "global_defs" => self.global_defs(&s),
                    "vrrp_script" => self.vrrp_script(&s),
                    "vrrp_sync_group" => self.vrrp_sync_group(&s),
                    "vrrp_instance" => self.vrrp_instance(&s),
                    "virtual_server_group" => self.virtual_server_group(&s),
                    "virtual_server" => self.virtual_server(&s),
                    _ => self.unknown(Block::Top, &s),
                },
            }
        }
    }

    fn global_defs(&mut self, s: &Stmt) {
        if !self.need_block(s) {
            return;
        }
        self.args(s, 0, "");
        self.kw_block(s, &mut |b, st| b.global_stmt(st));
    }

    fn global_stmt(&mut self, st: Stmt) {
        let kw = self.alias(&st, Block::GlobalDefs);
        match kw.as_str() {
            "notification_email" => {
                let list = self.word_list(&st);
                self.global
                    .notification_email
                    .extend(list.into_iter().map(|w| w.text));
            }
            "notification_email_from" => {
                if let Some(v) = self.string(&st) {
                    self.global.notification_email_from = Some(v);
                }
            }
            "smtp_server" => {
                self.no_block(&st);
                if let Some(args) = self.args_range(&st, 1, 2, "an IP address [PORT]") {
                    let addr = match parse_ip(&args[0].text) {
                        Some(ip) => Some(ip),
                        None => {
                            let msg = if args[0].text.chars().any(|c| c.is_ascii_alphabetic())
                                && !args[0].text.contains(':')
                            {
                                "smtp_server by host name is a keepalived option that tandem does not support yet; give an IP address".to_string()
                            } else {
                                format!(
                                    "smtp_server expects an IP address, not \"{}\"",
                                    args[0].text
                                )
                            };
                            self.err(args[0].pos, msg);
                            None
                        }
                    };
                    let port = match args.get(1) {
                        Some(w) => self.port_word("smtp_server port", w),
                        None => Some(25),
                    };
                    if let (Some(address), Some(port)) = (addr, port) {
                        self.global.smtp_server = Some(SmtpServer { address, port });
                    }
                }
            }
            "smtp_helo_name" => {
                if let Some(v) = self.string(&st) {
                    self.global.smtp_helo_name = Some(v);
                }
            }
            "smtp_connect_timeout" => {
                if let Some(v) = self.int_in(&st, 1, 3600) {
                    self.global.smtp_connect_timeout = Duration::from_secs(v as u64);
                }
            }
            "smtp_alert" => self.global.smtp_alert = Some(self.flag(&st)),
            "smtp_alert_vrrp" => self.global.smtp_alert_vrrp = Some(self.flag(&st)),
            "smtp_alert_checker" => self.global.smtp_alert_checker = Some(self.flag(&st)),
            "router_id" => {
                if let Some(v) = self.string(&st) {
                    self.global.router_id = Some(v);
                }
            }
            "vrrp_mcast_group4" => match self.ip(&st) {
                Some(IpAddr::V4(a)) if a.is_multicast() => self.global.vrrp_mcast_group4 = a,
                Some(_) => self.err(
                    st.args[0].pos,
                    "vrrp_mcast_group4 expects an IPv4 multicast address",
                ),
                None => {}
            },
            "vrrp_mcast_group6" => match self.ip(&st) {
                Some(IpAddr::V6(a)) if a.is_multicast() => self.global.vrrp_mcast_group6 = a,
                Some(_) => self.err(
                    st.args[0].pos,
                    "vrrp_mcast_group6 expects an IPv6 multicast address",
                ),
                None => {}
            },
            "vrrp_version" => {
                if let Some(v) = self.int_in(&st, 2, 3) {
                    self.global.vrrp_version = if v == 2 {
                        VrrpVersion::V2
                    } else {
                        VrrpVersion::V3
                    };
                }
            }
            "vrrp_garp_master_delay" => {
                if let Some(v) = self.int_in(&st, 0, 1000) {
                    self.global.vrrp_garp_master_delay = Duration::from_secs(v as u64);
                }
            }
            "vrrp_garp_master_repeat" => {
                if let Some(v) = self.int_in(&st, 1, 1000) {
                    self.global.vrrp_garp_master_repeat = v as u32;
                }
            }
            "vrrp_garp_lower_prio_delay" => {
                if let Some(v) = self.int_in(&st, 0, 1000) {
                    self.global.vrrp_garp_lower_prio_delay = Duration::from_secs(v as u64);
                    self.lower_prio_delay_set = true;
                }
            }
            "vrrp_garp_lower_prio_repeat" => {
                if let Some(v) = self.int_in(&st, 1, 1000) {
                    self.global.vrrp_garp_lower_prio_repeat = v as u32;
                    self.lower_prio_repeat_set = true;
                }
            }
            "vrrp_garp_master_refresh" => {
                if let Some(v) = self.int_in(&st, 0, 86400) {
                    self.global.vrrp_garp_master_refresh =
                        (v > 0).then(|| Duration::from_secs(v as u64));
                }
            }
            "vrrp_garp_master_refresh_repeat" => {
                if let Some(v) = self.int_in(&st, 1, 1000) {
                    self.global.vrrp_garp_master_refresh_repeat = v as u32;
                }
            }
            "vrrp_garp_interval" => {
                if let Some(v) = self.timer(&st) {
                    self.global.vrrp_garp_interval = v;
                }
            }
            "vrrp_gna_interval" => {
                if let Some(v) = self.timer(&st) {
                    self.global.vrrp_gna_interval = v;
                }
            }
            "vrrp_skip_check_adv_addr" => self.global.vrrp_skip_check_adv_addr = self.flag(&st),
            "script_user" => {
                if let Some(u) = self.script_user(&st) {
                    self.global.script_user = Some(u);
                }
            }
            "enable_script_security" => {
                self.bare(&st);
                self.global.enable_script_security = true;
            }
            "lvs_flush" => {
                self.bare(&st);
                self.global.lvs_flush = true;
            }
            "no_email_faults" => {
                self.bare(&st);
                self.global.no_email_faults = true;
            }
            "no_checker_emails" => {
                self.global.no_checker_emails = self.flag(&st);
            }
            "lvs_flush_on_stop" => {
                self.no_block(&st);
                if let Some(args) = self.args_range(&st, 0, 1, "") {
                    self.global.lvs_flush_on_stop = match args.first() {
                        None => LvsFlushOnStop::All,
                        Some(w) if w.text.eq_ignore_ascii_case("VS") => LvsFlushOnStop::Vs,
                        Some(w) => {
                            let msg = format!(
                                "lvs_flush_on_stop expects nothing or \"VS\", not \"{}\"",
                                w.text
                            );
                            self.err(w.pos, msg);
                            LvsFlushOnStop::All
                        }
                    };
                }
            }
            _ => self.unknown(Block::GlobalDefs, &st),
        }
    }

    // -----------------------------------------------------------------------
    // VRRP

    fn name_arg(&mut self, s: &Stmt) -> Option<String> {
        let kw = s.keyword.text.clone();
        match s.args.first() {
            Some(w) => {
                if let Some(extra) = s.args.get(1) {
                    let msg = format!("unexpected \"{}\" after {kw} {}", extra.text, w.text);
                    self.err(extra.pos, msg);
                }
                Some(w.text.clone())
            }
            None => {
                self.err(s.keyword.pos, format!("\"{kw}\" needs a name"));
                None
            }
        }
    }

    fn vrrp_script(&mut self, s: &Stmt) {
        let name = self.name_arg(s);
        if !self.need_block(s) {
            return;
        }
        let mut sc = VrrpScript {
            name: name.clone().unwrap_or_default(),
            script: String::new(),
            interval: Duration::from_secs(1),
            timeout: Duration::ZERO,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
            origin: self.origin(s.keyword.pos),
        };
        let mut timeout = None;
        let mut has_script = false;
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            "script" => {
                if let Some(v) = b.string(&st) {
                    sc.script = v;
                    has_script = true;
                }
            }
            "interval" => {
                if let Some(v) = b.timer(&st) {
                    if v.is_zero() {
                        b.err(st.args[0].pos, "interval must be more than 0");
                    } else {
                        sc.interval = v;
                    }
                }
            }
            "timeout" => {
                if let Some(v) = b.timer(&st) {
                    timeout = Some(v);
                }
            }
            "weight" => {
                b.no_block(&st);
                if let Some(args) = b.args_range(&st, 1, 2, "a number (-253..253)") {
                    if let Some(v) = b.int_word("weight", &args[0], -253, 253) {
                        sc.weight = v as i32;
                    }
                    if let Some(r) = args.get(1) {
                        if r.text == "reverse" {
                            sc.weight_reverse = true;
                        } else {
                            b.err(r.pos, format!("expected \"reverse\", not \"{}\"", r.text));
                        }
                    }
                }
            }
            "rise" => {
                if let Some(v) = b.int_in(&st, 1, 1_000_000) {
                    sc.rise = v as u32;
                }
            }
            "fall" => {
                if let Some(v) = b.int_in(&st, 1, 1_000_000) {
                    sc.fall = v as u32;
                }
            }
            "user" => sc.user = b.script_user(&st),
            "init_fail" => {
                b.bare(&st);
                sc.init_fail = true;
            }
            _ => b.unknown(Block::VrrpScript, &st),
        });
        if !has_script {
            self.err(
                s.keyword.pos,
                format!(
                    "vrrp_script {} has no \"script\"",
                    name.as_deref().unwrap_or("")
                ),
            );
        }
        sc.timeout = timeout.unwrap_or(sc.interval);
        if name.is_some() {
            self.scripts.push((sc, has_script));
        }
    }

    /// `track_script { NAME [weight W [reverse|noreverse]] ... }`.
    fn track_script(&mut self, s: &Stmt) -> Vec<(TrackScript, Option<i32>, Option<bool>)> {
        let mut out = Vec::new();
        if !self.need_block(s) {
            return out;
        }
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            let (weight, reverse) = b.track_weight(&st, -253, 253);
            out.push((
                TrackScript {
                    name: st.keyword.text.clone(),
                    weight: 0,
                    reverse: false,
                    origin: b.origin(st.keyword.pos),
                },
                weight,
                reverse,
            ));
        });
        out
    }

    /// `[weight W [reverse|noreverse|no_reverse]]` after a tracked name.
    fn track_weight(&mut self, st: &Stmt, lo: i64, hi: i64) -> (Option<i32>, Option<bool>) {
        let mut weight = None;
        let mut reverse = None;
        let mut it = st.args.iter();
        while let Some(w) = it.next() {
            match w.text.as_str() {
                "weight" => match it.next() {
                    Some(v) => weight = self.int_word("weight", v, lo, hi).map(|v| v as i32),
                    None => self.err(w.pos, "\"weight\" needs a number"),
                },
                "reverse" => reverse = Some(true),
                "noreverse" | "no_reverse" => reverse = Some(false),
                other => {
                    let msg = format!(
                        "unexpected \"{other}\" after {}; expected \"weight N\"",
                        st.keyword.text
                    );
                    self.err(w.pos, msg);
                }
            }
        }
        (weight, reverse)
    }

    fn track_interface(&mut self, s: &Stmt) -> Vec<TrackInterface> {
        let mut out = Vec::new();
        if !self.need_block(s) {
            return out;
        }
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            let (weight, reverse) = b.track_weight(&st, -253, 253);
            out.push(TrackInterface {
                name: st.keyword.text.clone(),
                weight: weight.unwrap_or(0),
                reverse: reverse.unwrap_or(false),
            });
        });
        out
    }

    fn vrrp_sync_group(&mut self, s: &Stmt) {
        let name = self.name_arg(s);
        if !self.need_block(s) {
            return;
        }
        let mut g = RawGroup {
            group: VrrpSyncGroup {
                name: name.clone().unwrap_or_default(),
                group: Vec::new(),
                track_interface: Vec::new(),
                track_script: Vec::new(),
                notify_master: None,
                notify_backup: None,
                notify_fault: None,
                notify_stop: None,
                notify: None,
                smtp_alert: false,
                origin: self.origin(s.keyword.pos),
            },
            smtp_alert: None,
            track_script: Vec::new(),
        };
        let mut members: Vec<Word> = Vec::new();
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            "group" => members.extend(b.word_list(&st)),
            "track_interface" => {
                let list = b.track_interface(&st);
                g.group.track_interface.extend(list);
            }
            "track_script" => {
                let list = b.track_script(&st);
                g.track_script.extend(list);
            }
            "notify_master" => g.group.notify_master = b.notify_script(&st),
            "notify_backup" => g.group.notify_backup = b.notify_script(&st),
            "notify_fault" => g.group.notify_fault = b.notify_script(&st),
            "notify_stop" => g.group.notify_stop = b.notify_script(&st),
            "notify" => g.group.notify = b.notify_script(&st),
            "smtp_alert" => g.smtp_alert = Some(b.flag(&st)),
            _ => b.unknown(Block::VrrpSyncGroup, &st),
        });
        if members.is_empty() {
            self.err(
                s.keyword.pos,
                format!(
                    "vrrp_sync_group {} has no members (group {{ ... }})",
                    g.group.name
                ),
            );
        }
        // Member positions are kept for the reference check in validate.
        g.group.group = members.iter().map(|w| w.text.clone()).collect();
        self.group_members
            .extend(members.into_iter().map(|w| (g.group.name.clone(), w)));
        if name.is_some() {
            self.groups.push(g);
        }
    }

    fn vrrp_instance(&mut self, s: &Stmt) {
        let name = self.name_arg(s);
        if !self.need_block(s) {
            return;
        }
        let mut r = RawInstance::default();
        let mut vi = VrrpInstance {
            name: name.clone().unwrap_or_default(),
            origin: self.origin(s.keyword.pos),
            ..VrrpInstance::default()
        };
        self.kw_block(s, &mut |b, st| b.instance_stmt(st, &mut vi, &mut r));
        if name.is_none() {
            return;
        }
        match r.interface.take() {
            Some(i) => vi.interface = i,
            None if r.interface_given => {}
            None => self.err(
                s.keyword.pos,
                format!("vrrp_instance {} has no \"interface\"", vi.name),
            ),
        }
        match r.vrid {
            Some(v) => vi.virtual_router_id = v,
            None if r.vrid_given => {}
            None => self.err(
                s.keyword.pos,
                format!("vrrp_instance {} has no \"virtual_router_id\"", vi.name),
            ),
        }
        // The family is the VIPs'; all of them must share it.
        if let Some(first) = vi.virtual_ipaddress.first() {
            vi.family = AddressFamily::of(&first.address);
        }
        let fam = vi.family;
        let mixed = vi
            .virtual_ipaddress
            .iter()
            .find(|v| AddressFamily::of(&v.address) != fam)
            .map(|v| v.address);
        if let Some(a) = mixed {
            let pos = r
                .vip_pos
                .iter()
                .find(|(x, _)| *x == a)
                .map_or(s.keyword.pos, |p| p.1);
            self.err(
                pos,
                format!(
                    "vrrp_instance {}: virtual_ipaddress mixes {fam} and {} addresses ({a}); put the other family in virtual_ipaddress_excluded or in its own instance",
                    vi.name,
                    AddressFamily::of(&a)
                ),
            );
        }
        r.inst = vi;
        self.instances.push(r);
    }

    fn instance_stmt(&mut self, st: Stmt, vi: &mut VrrpInstance, r: &mut RawInstance) {
        let kw = self.alias(&st, Block::VrrpInstance);
        match kw.as_str() {
            "state" => {
                if let Some(w) = self.one(&st, "MASTER or BACKUP") {
                    match w.text.to_ascii_uppercase().as_str() {
                        "MASTER" => vi.state = InitialState::Master,
                        "BACKUP" => vi.state = InitialState::Backup,
                        _ => self.err(
                            w.pos,
                            format!("state expects MASTER or BACKUP, not \"{}\"", w.text),
                        ),
                    }
                }
            }
            "interface" => {
                r.interface_given = true;
                r.interface = self.string(&st);
            }
            "virtual_router_id" => {
                r.vrid_given = true;
                if let Some(v) = self.int_in(&st, 1, 255) {
                    r.vrid = Some(v as u8);
                }
            }
            "priority" => {
                if let Some(v) = self.int_in(&st, 1, 255) {
                    vi.priority = v as u8;
                }
            }
            "advert_int" => {
                if let Some(w) = self.one(&st, "a time in seconds") {
                    if let Some(v) = self.timer_word("advert_int", w) {
                        r.advert_int = Some((v, w.pos));
                    }
                }
            }
            "version" => {
                if let Some(w) = self.one(&st, "2 or 3") {
                    match w.text.as_str() {
                        "2" => r.version = Some((VrrpVersion::V2, w.pos)),
                        "3" => r.version = Some((VrrpVersion::V3, w.pos)),
                        _ => self.err(w.pos, format!("version expects 2 or 3, not \"{}\"", w.text)),
                    }
                }
            }
            "nopreempt" => {
                self.bare(&st);
                vi.nopreempt = true;
            }
            "preempt" => {
                self.bare(&st);
                vi.nopreempt = false;
            }
            "preempt_delay" => {
                if let Some(w) = self.one(&st, "a time in seconds") {
                    if let Some(v) = self.timer_word("preempt_delay", w) {
                        if v > Duration::from_secs(1000) {
                            self.err(
                                w.pos,
                                format!("preempt_delay {} is out of range (0-1000)", w.text),
                            );
                        } else {
                            vi.preempt_delay = v;
                        }
                    }
                }
            }
            "authentication" => {
                r.auth_pos = Some(st.keyword.pos);
                vi.authentication = self.authentication(&st);
            }
            "virtual_ipaddress" => {
                let list = self.vip_list(&st);
                self.add_vips(vi, r, list, false);
            }
            "virtual_ipaddress_excluded" => {
                let list = self.vip_list(&st);
                self.add_vips(vi, r, list, true);
            }
            "virtual_routes" => {
                let list = self.route_list(&st);
                vi.virtual_routes.extend(list);
            }
            "track_interface" => {
                let list = self.track_interface(&st);
                vi.track_interface.extend(list);
            }
            "track_script" => {
                let list = self.track_script(&st);
                r.track_script.extend(list);
            }
            "unicast_src_ip" => {
                vi.unicast_src_ip = self.ip(&st);
                r.src_pos = st.args.first().map(|w| w.pos);
            }
            "unicast_peer" => {
                if self.need_block(&st) {
                    let mut peers = Vec::new();
                    self.block(&st, &mut |b, p| {
                        b.no_block(&p);
                        let ip = b.ip_word("unicast_peer", &p.keyword);
                        // min_ttl / max_ttl are not supported.
                        if let Some(extra) = p.args.first() {
                            let msg = if matches!(extra.text.as_str(), "min_ttl" | "max_ttl") {
                                keywords::unsupported_message(&extra.text)
                            } else {
                                format!("unexpected \"{}\" after a unicast peer", extra.text)
                            };
                            b.err(extra.pos, msg);
                        }
                        if let Some(ip) = ip {
                            peers.push((ip, p.keyword.pos));
                        }
                    });
                    vi.unicast_peer.extend(peers.iter().map(|p| p.0));
                    r.peer_pos.extend(peers);
                }
            }
            "notify_master" => vi.notify_master = self.notify_script(&st),
            "notify_backup" => vi.notify_backup = self.notify_script(&st),
            "notify_fault" => vi.notify_fault = self.notify_script(&st),
            "notify_stop" => vi.notify_stop = self.notify_script(&st),
            "notify" => vi.notify = self.notify_script(&st),
            "smtp_alert" => r.smtp_alert = Some(self.flag(&st)),
            "accept" => {
                self.bare(&st);
                vi.accept = true;
            }
            "skip_check_adv_addr" => r.skip_check_adv_addr = Some(self.flag(&st)),
            "garp_master_delay" => {
                if let Some(v) = self.int_in(&st, 0, 1000) {
                    r.garp_master_delay = Some(Duration::from_secs(v as u64));
                }
            }
            "garp_master_repeat" => {
                if let Some(v) = self.int_in(&st, 1, 1000) {
                    r.garp_master_repeat = Some(v as u32);
                }
            }
            "garp_lower_prio_delay" => {
                if let Some(v) = self.int_in(&st, 0, 1000) {
                    r.garp_lower_prio_delay = Some(Duration::from_secs(v as u64));
                }
            }
            "garp_lower_prio_repeat" => {
                if let Some(v) = self.int_in(&st, 1, 1000) {
                    r.garp_lower_prio_repeat = Some(v as u32);
                }
            }
            "garp_master_refresh" => {
                if let Some(v) = self.int_in(&st, 0, 86400) {
                    r.garp_master_refresh = Some((v > 0).then(|| Duration::from_secs(v as u64)));
                }
            }
            "garp_master_refresh_repeat" => {
                if let Some(v) = self.int_in(&st, 1, 1000) {
                    r.garp_master_refresh_repeat = Some(v as u32);
                }
            }
            _ => self.unknown(Block::VrrpInstance, &st),
        }
    }

    fn authentication(&mut self, s: &Stmt) -> Option<Authentication> {
        if !self.need_block(s) {
            return None;
        }
        let mut auth_type: Option<Word> = None;
        let mut pass: Option<Word> = None;
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            "auth_type" => auth_type = b.one(&st, "PASS").cloned(),
            "auth_pass" => pass = b.one(&st, "a password").cloned(),
            _ => b.unknown(Block::Authentication, &st),
        });
        match auth_type {
            Some(t) if t.text.eq_ignore_ascii_case("PASS") => {}
            Some(t) if t.text.eq_ignore_ascii_case("AH") => {
                self.err(
                    t.pos,
                    "\"auth_type AH\" is a keepalived option that tandem does not support yet",
                );
                return None;
            }
            Some(t) => {
                self.err(t.pos, format!("auth_type expects PASS, not \"{}\"", t.text));
                return None;
            }
            None => {
                self.err(s.keyword.pos, "authentication needs \"auth_type PASS\"");
                return None;
            }
        }
        let Some(p) = pass else {
            self.err(s.keyword.pos, "authentication needs \"auth_pass\"");
            return None;
        };
        let mut auth_pass = p.text.clone();
        if auth_pass.len() > 8 {
            let mut cut = 8;
            while !auth_pass.is_char_boundary(cut) {
                cut -= 1;
            }
            auth_pass.truncate(cut);
            self.warn(
                p.pos,
                format!("auth_pass is longer than 8 bytes; only \"{auth_pass}\" is used"),
            );
        }
        Some(Authentication { auth_pass })
    }

    /// `virtual_ipaddress { IP[/LEN] [brd IP] [dev IF] [scope S] [label L] ... }`.
    fn vip_list(&mut self, s: &Stmt) -> Vec<(VirtualIpAddress, Pos)> {
        let mut out = Vec::new();
        if !self.need_block(s) {
            return out;
        }
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            if let Some(v) = b.vip(&st) {
                out.push((v, st.keyword.pos));
            }
        });
        out
    }

    /// Add addresses to an instance, once each: a repeated address (in
    /// either list) is reported and ignored, so it is never added twice.
    fn add_vips(
        &mut self,
        vi: &mut VrrpInstance,
        r: &mut RawInstance,
        list: Vec<(VirtualIpAddress, Pos)>,
        excluded: bool,
    ) {
        for (v, pos) in list {
            if let Some((_, first)) = r.vip_pos.iter().find(|(a, _)| *a == v.address) {
                let msg = format!(
                    "{} is already an address of vrrp_instance {} (line {}); this entry is ignored",
                    v.address, vi.name, first.line
                );
                self.warn(pos, msg);
                continue;
            }
            r.vip_pos.push((v.address, pos));
            if excluded {
                vi.virtual_ipaddress_excluded.push(v);
            } else {
                vi.virtual_ipaddress.push(v);
            }
        }
    }

    fn vip(&mut self, st: &Stmt) -> Option<VirtualIpAddress> {
        let Some(prefix) = parse_prefix(&st.keyword.text) else {
            let msg = format!(
                "expected an IP address with an optional /prefix, not \"{}\"",
                st.keyword.text
            );
            self.err(st.keyword.pos, msg);
            return None;
        };
        let mut v = VirtualIpAddress {
            address: prefix.address,
            prefix_len: prefix.prefix_len,
            brd: None,
            dev: None,
            scope: None,
            label: None,
            peer: None,
            no_track: false,
        };
        let mut it = st.args.iter();
        while let Some(w) = it.next() {
            let opt = w.text.as_str();
            match opt {
                "brd" | "broadcast" | "dev" | "scope" | "label" | "peer" => {
                    let Some(val) = it.next() else {
                        self.err(w.pos, format!("\"{opt}\" needs a value"));
                        break;
                    };
                    match opt {
                        "dev" => v.dev = Some(val.text.clone()),
                        "label" => v.label = Some(val.text.clone()),
                        "scope" => match parse_scope(&val.text) {
                            Some(sc) => v.scope = Some(sc),
                            None => self.err(
                                val.pos,
                                format!(
                                    "scope expects global, site, link, host or nowhere, not \"{}\"",
                                    val.text
                                ),
                            ),
                        },
                        _ => {
                            if let Some(ip) = self.ip_word(opt, val) {
                                if AddressFamily::of(&ip) != AddressFamily::of(&v.address) {
                                    self.err(
                                        val.pos,
                                        format!("{opt} {ip} is not of the address's family"),
                                    );
                                } else if opt == "peer" {
                                    v.peer = Some(ip);
                                } else {
                                    v.brd = Some(ip);
                                }
                            }
                        }
                    }
                }
                "no_track" => v.no_track = true,
                "use_vmac" | "home" | "-nodad" | "nodad" | "mngtmpaddr" | "noprefixroute"
                | "autojoin" | "preferred_lft" | "track_group" => {
                    self.err(w.pos, keywords::unsupported_message(opt));
                    if matches!(opt, "preferred_lft" | "track_group") {
                        it.next();
                    }
                }
                _ => {
                    let cands = ["brd", "dev", "scope", "label", "peer", "no_track"];
                    let msg = match keywords::suggest(opt, cands) {
                        Some(m) => {
                            format!("unknown address option \"{opt}\"; did you mean \"{m}\"?")
                        }
                        None => format!("unknown address option \"{opt}\""),
                    };
                    self.err(w.pos, msg);
                    // What follows may be its value: one error is enough.
                    break;
                }
            }
        }
        Some(v)
    }

    /// `virtual_routes { [src IP] [to] DEST [via|gw IP] [dev IF] ... }`.
    fn route_list(&mut self, s: &Stmt) -> Vec<VirtualRoute> {
        let mut out = Vec::new();
        if !self.need_block(s) {
            return out;
        }
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            if let Some(r) = b.route(&st) {
                out.push(r);
            }
        });
        out
    }

    fn route(&mut self, st: &Stmt) -> Option<VirtualRoute> {
        let words: Vec<&Word> = std::iter::once(&st.keyword).chain(st.args.iter()).collect();
        let mut r = VirtualRoute {
            route_type: RouteType::Unicast,
            destination: IpPrefix {
                address: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                prefix_len: 0,
            },
            src: None,
            via: None,
            dev: None,
            scope: None,
            table: None,
            metric: None,
            no_track: false,
        };
        let mut dest: Option<IpPrefix> = None;
        let mut i = 0;
        let mut ok = true;
        while i < words.len() {
            let w = words[i];
            let opt = w.text.as_str();
            let value = words.get(i + 1).copied();
            let need = |b: &mut Self| -> Option<&Word> {
                if value.is_none() {
                    b.err(w.pos, format!("\"{opt}\" needs a value"));
                }
                value
            };
            match opt {
                "src" | "via" | "gw" => {
                    let Some(v) = need(self) else {
                        ok = false;
                        break;
                    };
                    let ip = self.ip_word(opt, v);
                    if opt == "src" {
                        r.src = ip;
                    } else {
                        r.via = ip;
                    }
                    ok &= ip.is_some();
                    i += 2;
                }
                "dev" => {
                    let Some(v) = need(self) else {
                        ok = false;
                        break;
                    };
                    r.dev = Some(v.text.clone());
                    i += 2;
                }
                "scope" => {
                    let Some(v) = need(self) else {
                        ok = false;
                        break;
                    };
                    match parse_scope(&v.text) {
                        Some(sc) => r.scope = Some(sc),
                        None => {
                            self.err(v.pos, format!("unknown scope \"{}\"", v.text));
                            ok = false;
                        }
                    }
                    i += 2;
                }
                "table" | "metric" | "preference" | "priority" => {
                    let Some(v) = need(self) else {
                        ok = false;
                        break;
                    };
                    match v.text.parse::<u32>() {
                        Ok(n) if opt == "table" => r.table = Some(n),
                        Ok(n) => r.metric = Some(n),
                        Err(_) => {
                            self.err(v.pos, format!("{opt} expects a number, not \"{}\"", v.text));
                            ok = false;
                        }
                    }
                    i += 2;
                }
                "to" => i += 1,
                "no_track" => {
                    r.no_track = true;
                    i += 1;
                }
                "blackhole" | "unreachable" | "prohibit" | "throw" if dest.is_none() => {
                    r.route_type = match opt {
                        "blackhole" => RouteType::Blackhole,
                        "unreachable" => RouteType::Unreachable,
                        "prohibit" => RouteType::Prohibit,
                        _ => RouteType::Throw,
                    };
                    i += 1;
                }
                "or" | "onlink" | "proto" | "mtu" | "advmss" | "rtt" | "rttvar" | "reordering"
                | "window" | "cwnd" | "ssthresh" | "realms" | "initcwnd" | "initrwnd"
                | "features" | "quickack" | "congctl" | "pref" | "fastopen_no_cookie" | "vrf"
                | "nexthop" | "encap" | "expires" | "hoplimit" | "lock" | "track_group"
                | "type" | "unicast" | "broadcast" | "local" | "nat" | "anycast" | "multicast" => {
                    self.err(w.pos, keywords::unsupported_message(opt));
                    ok = false;
                    break;
                }
                _ if dest.is_none() => match parse_prefix(opt) {
                    Some(p) => {
                        dest = Some(p);
                        i += 1;
                    }
                    None => {
                        self.err(
                            w.pos,
                            format!("expected a destination (e.g. 192.0.2.0/24), not \"{opt}\""),
                        );
                        ok = false;
                        break;
                    }
                },
                _ => {
                    let cands = [
                        "src", "via", "gw", "dev", "scope", "table", "metric", "no_track",
                    ];
                    let msg = match keywords::suggest(opt, cands) {
                        Some(m) => format!("unknown route option \"{opt}\"; did you mean \"{m}\"?"),
                        None => format!("unknown route option \"{opt}\""),
                    };
                    self.err(w.pos, msg);
                    ok = false;
                    break;
                }
            }
        }
        let Some(d) = dest else {
            if ok {
                self.err(st.keyword.pos, "virtual route without a destination");
            }
            return None;
        };
        r.destination = d;
        let fam = AddressFamily::of(&d.address);
        for a in [r.src, r.via].into_iter().flatten() {
            if AddressFamily::of(&a) != fam {
                self.err(
                    st.keyword.pos,
                    format!("route to {d}: {a} is not of the destination's family"),
                );
                ok = false;
            }
        }
        ok.then_some(r)
    }
}

// ---------------------------------------------------------------------------
// LVS

impl Builder {
    fn virtual_server_group(&mut self, s: &Stmt) {
        let name = self.name_arg(s);
        if !self.need_block(s) {
            return;
        }
        let mut entries = Vec::new();
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            if st.keyword.text == "fwmark" {
                let Some(args) = b.args_range(&st, 1, 2, "a number") else {
                    return;
                };
                let mark = b.int_word("fwmark", &args[0], 1, i64::from(u32::MAX));
                let family = match args.get(1).map(|w| (w, w.text.as_str())) {
                    None => None,
                    Some((_, "inet")) => Some(AddressFamily::Inet),
                    Some((_, "inet6")) => Some(AddressFamily::Inet6),
                    Some((w, other)) => {
                        b.err(w.pos, format!("expected inet or inet6, not \"{other}\""));
                        None
                    }
                };
                if let Some(m) = mark {
                    entries.push(VsgEntry::Fwmark {
                        fwmark: m as u32,
                        family,
                    });
                }
                return;
            }
            let Some((first, last)) = parse_range(&st.keyword.text) else {
                let msg = format!(
                    "expected an IP address, range (192.0.2.1-10) or \"fwmark N\", not \"{}\"",
                    st.keyword.text
                );
                let msg = match keywords::suggest(&st.keyword.text, ["fwmark"]) {
                    Some(m) => format!("{msg}; did you mean \"{m}\"?"),
                    None => msg,
                };
                b.err(st.keyword.pos, msg);
                return;
            };
            if !ip_le(&first, &last) {
                b.err(
                    st.keyword.pos,
                    format!("range {} ends before it starts", st.keyword.text),
                );
                return;
            }
            let port = match st.args.first() {
                Some(w) => b.port_word("port", w),
                None => Some(0),
            };
            if let Some(extra) = st.args.get(1) {
                b.err(extra.pos, format!("unexpected \"{}\"", extra.text));
            }
            if let Some(port) = port {
                entries.push(VsgEntry::Range { first, last, port });
            }
        });
        if let Some(name) = name {
            if entries.is_empty() {
                self.warn(
                    s.keyword.pos,
                    format!("virtual_server_group {name} is empty"),
                );
            }
            let origin = self.origin(s.keyword.pos);
            self.vsgs.push(VirtualServerGroup {
                name,
                entries,
                origin,
            });
        }
    }

    fn virtual_server(&mut self, s: &Stmt) {
        let key = self.vs_key(s);
        if !self.need_block(s) {
            return;
        }
        let mut raw = RawVs {
            vs: VirtualServer {
                key: VirtualServerKey::Fwmark { fwmark: 0 },
                // keepalived 2.2.7 defaults to UDP (see resolve_vs).
                protocol: Protocol::Udp,
                lvs_sched: LvsSched::default(),
                lvs_method: LvsMethod::default(),
                tunnel: Tunnel::default(),
                sched_flags: SchedFlags::default(),
                persistence_timeout: None,
                persistence_granularity: None,
                family: AddressFamily::Inet,
                delay_loop: Duration::from_secs(60),
                quorum: 1,
                hysteresis: 0,
                quorum_up: None,
                quorum_down: None,
                alpha: false,
                omega: false,
                inhibit_on_failure: false,
                sorry_server: None,
                sorry_server_inhibit: false,
                virtualhost: None,
                ops: false,
                smtp_alert: false,
                real_servers: Vec::new(),
                origin: self.origin(s.keyword.pos),
            },
            inh: Inherit::default(),
            ip_family: None,
            sorry: None,
            sorry_method: None,
            sched_flag_words: Vec::new(),
            protocol_pos: None,
            rss: Vec::new(),
        };
        self.kw_block(s, &mut |b, st| b.vs_stmt(st, &mut raw));
        let Some(key) = key else {
            return;
        };
        raw.vs.key = key;
        let vs = self.resolve_vs(raw);
        self.vss.push(vs);
    }

    fn vs_key(&mut self, s: &Stmt) -> Option<VirtualServerKey> {
        let Some(first) = s.args.first() else {
            self.err(
                s.keyword.pos,
                "\"virtual_server\" needs IP [PORT], \"fwmark N\" or \"group NAME\"",
            );
            return None;
        };
        let max = 2;
        if let Some(extra) = s.args.get(max) {
            self.err(
                extra.pos,
                format!("unexpected \"{}\" after virtual_server", extra.text),
            );
        }
        match first.text.as_str() {
            "fwmark" => {
                let Some(w) = s.args.get(1) else {
                    self.err(first.pos, "\"fwmark\" needs a number");
                    return None;
                };
                self.int_word("fwmark", w, 1, i64::from(u32::MAX))
                    .map(|m| VirtualServerKey::Fwmark { fwmark: m as u32 })
            }
            "group" => {
                let Some(w) = s.args.get(1) else {
                    self.err(first.pos, "\"group\" needs a virtual_server_group name");
                    return None;
                };
                Some(VirtualServerKey::Group {
                    name: w.text.clone(),
                })
            }
            text => {
                let Some(address) = parse_ip(text) else {
                    self.err(
                        first.pos,
                        format!(
                            "virtual_server expects IP [PORT], \"fwmark N\" or \"group NAME\", not \"{text}\""
                        ),
                    );
                    return None;
                };
                let port = match s.args.get(1) {
                    Some(w) => self.port_word("virtual_server port", w)?,
                    None => 0,
                };
                Some(VirtualServerKey::Address { address, port })
            }
        }
    }

    fn inherit_stmt(&mut self, kw: &str, st: &Stmt, inh: &mut Inherit) -> bool {
        match kw {
            "delay_loop" => {
                if let Some(v) = self.timer(st) {
                    if v.is_zero() {
                        self.err(st.args[0].pos, "delay_loop must be more than 0");
                    } else {
                        inh.delay_loop = Some(v);
                    }
                }
            }
            "connect_timeout" => {
                if let Some(v) = self.timer(st) {
                    if v.is_zero() {
                        self.err(st.args[0].pos, "connect_timeout must be more than 0");
                    } else {
                        inh.connect_timeout = Some(v);
                    }
                }
            }
            "retry" => inh.retry = self.u32_val(st),
            "delay_before_retry" => inh.delay_before_retry = self.timer(st),
            "warmup" => inh.warmup = self.timer(st),
            "alpha" => inh.alpha = Some(self.flag(st)),
            "inhibit_on_failure" => inh.inhibit_on_failure = Some(self.flag(st)),
            "virtualhost" => inh.virtualhost = self.string(st),
            "smtp_alert" => inh.smtp_alert = Some(self.flag(st)),
            _ => return false,
        }
        true
    }

    fn vs_stmt(&mut self, st: Stmt, raw: &mut RawVs) {
        let kw = self.alias(&st, Block::VirtualServer);
        if self.inherit_stmt(&kw, &st, &mut raw.inh) {
            return;
        }
        let vs = &mut raw.vs;
        match kw.as_str() {
            "lvs_sched" => {
                if let Some(w) = self.one(&st, "a scheduler (rr, wrr, lc, wlc, ...)") {
                    let found = LvsSched::ALL.iter().find(|s| s.name() == w.text);
                    match found {
                        Some(s) => vs.lvs_sched = *s,
                        None => {
                            let cands = LvsSched::ALL.iter().map(|s| s.name());
                            let msg = match keywords::suggest(&w.text, cands) {
                                Some(m) => format!(
                                    "unknown scheduler \"{}\"; did you mean \"{m}\"?",
                                    w.text
                                ),
                                None => format!(
                                    "unknown scheduler \"{}\" (rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos)",
                                    w.text
                                ),
                            };
                            self.err(w.pos, msg);
                        }
                    }
                }
            }
            "lvs_method" => {
                if let Some((m, t)) = self.lvs_method(&st) {
                    vs.lvs_method = m;
                    vs.tunnel = t;
                }
            }
            "flag-1" | "flag-2" | "flag-3" | "sh-fallback" | "sh-port" | "mh-fallback"
            | "mh-port" => {
                self.bare(&st);
                match kw.as_str() {
                    "flag-1" | "sh-fallback" | "mh-fallback" => vs.sched_flags.flag_1 = true,
                    "flag-2" | "sh-port" | "mh-port" => vs.sched_flags.flag_2 = true,
                    _ => vs.sched_flags.flag_3 = true,
                }
                raw.sched_flag_words.push(st.keyword.clone());
            }
            "sorry_server_lvs_method" => raw.sorry_method = self.lvs_method(&st),
            "protocol" => {
                raw.protocol_pos = Some(st.keyword.pos);
                if let Some(w) = self.one(&st, "TCP, UDP or SCTP") {
                    match w.text.to_ascii_uppercase().as_str() {
                        "TCP" => vs.protocol = Protocol::Tcp,
                        "UDP" => vs.protocol = Protocol::Udp,
                        "SCTP" => vs.protocol = Protocol::Sctp,
                        _ => self.err(
                            w.pos,
                            format!("protocol expects TCP, UDP or SCTP, not \"{}\"", w.text),
                        ),
                    }
                }
            }
            "persistence_timeout" => {
                self.no_block(&st);
                if let Some(args) = self.args_range(&st, 0, 1, "") {
                    match args.first() {
                        None => vs.persistence_timeout = Some(Duration::from_secs(360)),
                        Some(w) => {
                            if let Some(v) =
                                self.int_word("persistence_timeout", w, 1, i64::from(u32::MAX))
                            {
                                vs.persistence_timeout = Some(Duration::from_secs(v as u64));
                            }
                        }
                    }
                }
            }
            "persistence_granularity" => {
                if let Some(w) = self.one(&st, "a netmask") {
                    match netmask_to_prefix(&w.text) {
                        Some(p) => vs.persistence_granularity = Some(p),
                        None => self.err(w.pos, format!("persistence_granularity expects a netmask (e.g. 255.255.255.0), not \"{}\"", w.text)),
                    }
                }
            }
            "quorum" => {
                if let Some(v) = self.int_in(&st, 1, i64::from(u32::MAX)) {
                    vs.quorum = v as u32;
                }
            }
            "hysteresis" => {
                if let Some(v) = self.u32_val(&st) {
                    vs.hysteresis = v;
                }
            }
            "quorum_up" => vs.quorum_up = self.notify_script(&st),
            "quorum_down" => vs.quorum_down = self.notify_script(&st),
            "omega" => vs.omega = self.flag(&st),
            "sorry_server" => {
                self.no_block(&st);
                if let Some(args) = self.args_range(&st, 1, 2, "IP [PORT]") {
                    let ip = self.ip_word("sorry_server", &args[0]);
                    let port = match args.get(1) {
                        Some(w) => self.port_word("sorry_server port", w).map(Some),
                        None => Some(None),
                    };
                    if let (Some(ip), Some(port)) = (ip, port) {
                        raw.sorry = Some((ip, port));
                    }
                }
            }
            "sorry_server_inhibit" => vs.sorry_server_inhibit = self.flag(&st),
            "ops" => {
                self.bare(&st);
                vs.ops = true;
            }
            "ip_family" => {
                if let Some(w) = self.one(&st, "inet or inet6") {
                    match w.text.as_str() {
                        "inet" => raw.ip_family = Some(AddressFamily::Inet),
                        "inet6" => raw.ip_family = Some(AddressFamily::Inet6),
                        _ => self.err(
                            w.pos,
                            format!("ip_family expects inet or inet6, not \"{}\"", w.text),
                        ),
                    }
                }
            }
            "real_server" => {
                if let Some(rs) = self.real_server(&st) {
                    raw.rss.push(rs);
                }
            }
            _ => self.unknown(Block::VirtualServer, &st),
        }
    }

    /// `NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
    fn lvs_method(&mut self, st: &Stmt) -> Option<(LvsMethod, Tunnel)> {
        self.no_block(st);
        let args = self.args_range(st, 1, 6, "NAT, DR or TUN")?;
        let kw = st.keyword.text.clone();
        let w = &args[0];
        let Some(m) = parse_method(&w.text) else {
            self.err(
                w.pos,
                format!("{kw} expects NAT, DR or TUN, not \"{}\"", w.text),
            );
            return None;
        };
        let mut tunnel = Tunnel::default();
        let rest = &args[1..];
        if m != LvsMethod::Tun {
            if let Some(extra) = rest.first() {
                let msg = format!("unexpected \"{}\" after {kw} {}", extra.text, w.text);
                self.err(extra.pos, msg);
            }
            return Some((m, tunnel));
        }
        let mut it = rest.iter();
        let mut port_given = false;
        let mut ok = true;
        while let Some(a) = it.next() {
            match a.text.as_str() {
                "type" => match it.next().map(|t| (t, t.text.as_str())) {
                    Some((_, "ipip")) => tunnel.tunnel_type = TunnelType::Ipip,
                    Some((_, "gue")) => tunnel.tunnel_type = TunnelType::Gue,
                    Some((_, "gre")) => tunnel.tunnel_type = TunnelType::Gre,
                    Some((t, other)) => {
                        self.err(
                            t.pos,
                            format!("tunnel type expects ipip, gue or gre, not \"{other}\""),
                        );
                        ok = false;
                    }
                    None => {
                        self.err(a.pos, "\"type\" needs ipip, gue or gre");
                        ok = false;
                    }
                },
                "port" => match it.next() {
                    Some(p) => match self.int_word("tunnel port", p, 1, 65535) {
                        Some(v) => {
                            tunnel.port = v as u16;
                            port_given = true;
                        }
                        None => ok = false,
                    },
                    None => {
                        self.err(a.pos, "\"port\" needs a number");
                        ok = false;
                    }
                },
                "nocsum" => tunnel.checksum = TunnelChecksum::Nocsum,
                "csum" => tunnel.checksum = TunnelChecksum::Csum,
                "remcsum" => tunnel.checksum = TunnelChecksum::Remcsum,
                other => {
                    let msg = format!(
                        "unexpected \"{other}\" after {kw} TUN; expected type, port, nocsum, csum or remcsum"
                    );
                    self.err(a.pos, msg);
                    ok = false;
                }
            }
        }
        match tunnel.tunnel_type {
            TunnelType::Gue if !port_given && ok => {
                self.err(
                    w.pos,
                    "a GUE tunnel needs a port (lvs_method TUN type gue port N)",
                );
                ok = false;
            }
            TunnelType::Ipip | TunnelType::Gre if port_given => {
                self.err(w.pos, "only a GUE tunnel takes a port");
                ok = false;
            }
            TunnelType::Ipip if tunnel.checksum != TunnelChecksum::Nocsum => {
                self.err(w.pos, "checksum options need a GUE or GRE tunnel");
                ok = false;
            }
            TunnelType::Gre if tunnel.checksum == TunnelChecksum::Remcsum => {
                self.err(w.pos, "remcsum needs a GUE tunnel");
                ok = false;
            }
            _ => {}
        }
        ok.then_some((m, tunnel))
    }

    fn real_server(&mut self, s: &Stmt) -> Option<RawRs> {
        let Some(first) = s.args.first() else {
            self.err(s.keyword.pos, "\"real_server\" needs IP [PORT]");
            self.skip(s);
            return None;
        };
        let address = self.ip_word("real_server", first);
        let port = match s.args.get(1) {
            Some(w) => self.port_word("real_server port", w),
            None => None,
        };
        if let Some(extra) = s.args.get(2) {
            self.err(
                extra.pos,
                format!("unexpected \"{}\" after real_server", extra.text),
            );
        }
        let mut raw = RawRs {
            rs: RealServer {
                address: address.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
                port: 0,
                weight: 1,
                lvs_method: LvsMethod::Nat,
                tunnel: Tunnel::default(),
                inhibit_on_failure: false,
                notify_up: None,
                notify_down: None,
                uthreshold: None,
                lthreshold: None,
                smtp_alert: true,
                alpha: false,
                checkers: Vec::new(),
                origin: self.origin(s.keyword.pos),
            },
            port,
            lvs_method: None,
            inh: Inherit::default(),
            checkers: Vec::new(),
        };
        if !s.block {
            // keepalived accepts a real server without a block.
            address?;
            return Some(raw);
        }
        self.kw_block(s, &mut |b, st| b.rs_stmt(st, &mut raw));
        address?;
        Some(raw)
    }

    fn rs_stmt(&mut self, st: Stmt, raw: &mut RawRs) {
        let kw = self.alias(&st, Block::RealServer);
        if self.inherit_stmt(&kw, &st, &mut raw.inh) {
            return;
        }
        match kw.as_str() {
            "weight" => {
                if let Some(v) = self.int_in(&st, 0, 65535) {
                    raw.rs.weight = v as u32;
                }
            }
            "lvs_method" => raw.lvs_method = self.lvs_method(&st),
            "notify_up" => raw.rs.notify_up = self.notify_script(&st).map(Box::new),
            "notify_down" => raw.rs.notify_down = self.notify_script(&st).map(Box::new),
            "uthreshold" => raw.rs.uthreshold = self.u32_val(&st),
            "lthreshold" => raw.rs.lthreshold = self.u32_val(&st),
            "HTTP_GET" | "SSL_GET" | "TCP_CHECK" | "MISC_CHECK" => {
                if let Some(c) = self.checker(&st) {
                    raw.checkers.push(c);
                }
            }
            _ => self.unknown(Block::RealServer, &st),
        }
    }

    fn checker(&mut self, s: &Stmt) -> Option<RawChecker> {
        let kind_kw = s.keyword.text.clone();
        if let Some(extra) = s.args.first() {
            self.err(
                extra.pos,
                format!("unexpected \"{}\" after {kind_kw}", extra.text),
            );
        }
        let (block, mut kind) = match kind_kw.as_str() {
            "HTTP_GET" => (Block::HttpGet, CheckerKind::HttpGet(HttpGet::default())),
            "SSL_GET" => (Block::SslGet, CheckerKind::SslGet(HttpGet::default())),
            "TCP_CHECK" => (Block::TcpCheck, CheckerKind::TcpCheck),
            _ => (
                Block::MiscCheck,
                CheckerKind::MiscCheck(MiscCheck {
                    misc_path: String::new(),
                    misc_timeout: Duration::ZERO,
                    misc_dynamic: false,
                    user: None,
                }),
            ),
        };
        let mut c = RawChecker {
            kind: CheckerKind::TcpCheck,
            inh: Inherit::default(),
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            log_all_failures: false,
            misc_timeout: None,
            origin: self.origin(s.keyword.pos),
        };
        if !s.block {
            if matches!(kind, CheckerKind::TcpCheck) {
                // `TCP_CHECK` alone: all defaults.
                c.kind = kind;
                return Some(c);
            }
            self.need_block(s);
            return None;
        }
        self.kw_block(s, &mut |b, st| b.checker_stmt(st, block, &mut kind, &mut c));
        match &kind {
            CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) if h.url.is_empty() => {
                self.err(
                    s.keyword.pos,
                    format!("{kind_kw} has no url {{ path ... }}"),
                );
            }
            CheckerKind::MiscCheck(m) if m.misc_path.is_empty() => {
                self.err(s.keyword.pos, "MISC_CHECK has no misc_path");
            }
            _ => {}
        }
        if let CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) = &mut kind {
            h.url.shrink_to_fit();
        }
        c.kind = kind;
        Some(c)
    }

    fn checker_stmt(&mut self, st: Stmt, block: Block, kind: &mut CheckerKind, c: &mut RawChecker) {
        let kw = self.alias(&st, block);
        // inhibit_on_failure and smtp_alert belong to real servers; a
        // virtualhost only means something to the HTTP checkers.
        // keepalived 2.2.7 refuses connect_timeout in MISC_CHECK (its
        // misc_timeout bounds the script).
        let not_here = matches!(kw.as_str(), "inhibit_on_failure" | "smtp_alert")
            || (kw == "virtualhost" && matches!(block, Block::MiscCheck | Block::TcpCheck))
            || (kw == "connect_timeout" && block == Block::MiscCheck);
        if !not_here && self.inherit_stmt(&kw, &st, &mut c.inh) {
            return;
        }
        match (kw.as_str(), kind) {
            ("connect_ip", _) => c.connect_ip = self.ip(&st),
            ("connect_port", _) => c.connect_port = self.port(&st),
            ("bindto", _) => c.bindto = self.ip(&st),
            ("bind_port", _) => c.bind_port = self.port(&st),
            ("bind_if", _) => c.bind_if = self.string(&st),
            ("fwmark", _) => c.fwmark = self.int_in(&st, 1, i64::from(u32::MAX)).map(|v| v as u32),
            ("log_all_failures", _) => c.log_all_failures = self.flag(&st),
            ("url", CheckerKind::HttpGet(h) | CheckerKind::SslGet(h)) => {
                if let Some(u) = self.url(&st) {
                    h.url.push(u);
                }
            }
            ("http_protocol", CheckerKind::HttpGet(h) | CheckerKind::SslGet(h)) => {
                if let Some(w) = self.one(&st, "1.0, 1.0C or 1.1") {
                    match w.text.as_str() {
                        "1.0" => h.http_protocol = HttpProtocol::Http10,
                        "1.0C" | "1.0c" => h.http_protocol = HttpProtocol::Http10Close,
                        "1.1" => h.http_protocol = HttpProtocol::Http11,
                        _ => self.err(
                            w.pos,
                            format!("http_protocol expects 1.0, 1.0C or 1.1, not \"{}\"", w.text),
                        ),
                    }
                }
            }
            ("fast_recovery", CheckerKind::HttpGet(h) | CheckerKind::SslGet(h)) => {
                h.fast_recovery = self.flag(&st)
            }
            ("enable_sni", CheckerKind::SslGet(h)) => h.enable_sni = self.flag(&st),
            // keepalived reads it in HTTP_GET too, where there is no TLS.
            ("enable_sni", CheckerKind::HttpGet(_)) => {
                self.flag(&st);
                self.warn(
                    st.keyword.pos,
                    "enable_sni has no effect in HTTP_GET (no TLS); it is for SSL_GET",
                );
            }
            ("misc_path", CheckerKind::MiscCheck(m)) => {
                if let Some(v) = self.string(&st) {
                    m.misc_path = v;
                }
            }
            ("misc_timeout", CheckerKind::MiscCheck(_)) => {
                if let Some(v) = self.timer(&st) {
                    c.misc_timeout = Some(v);
                }
            }
            ("misc_dynamic", CheckerKind::MiscCheck(m)) => m.misc_dynamic = self.flag(&st),
            ("user", CheckerKind::MiscCheck(m)) => m.user = self.script_user(&st),
            _ => self.unknown(block, &st),
        }
    }

    fn url(&mut self, s: &Stmt) -> Option<Url> {
        if !self.need_block(s) {
            return None;
        }
        let mut u = Url {
            path: String::new(),
            digest: None,
            status_code: Vec::new(),
            virtualhost: None,
        };
        let mut has_path = false;
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            "path" => {
                if let Some(p) = b.string(&st) {
                    u.path = p;
                    has_path = true;
                }
            }
            "digest" => {
                if let Some(w) = b.one(&st, "an MD5 digest (32 hex digits)") {
                    match Md5Digest::from_hex(&w.text) {
                        Some(d) => u.digest = Some(d),
                        None => b.err(
                            w.pos,
                            format!("digest expects 32 hex digits (an MD5 sum from genhash), not \"{}\"", w.text),
                        ),
                    }
                }
            }
            "status_code" => {
                b.no_block(&st);
                if st.args.is_empty() {
                    b.err(st.keyword.pos, "\"status_code\" needs a code or range (e.g. 200 or 200-299)");
                }
                for w in &st.args {
                    let parsed = match w.text.split_once('-') {
                        Some((a, z)) => a.parse::<u16>().ok().zip(z.parse::<u16>().ok()),
                        None => w.text.parse::<u16>().ok().map(|v| (v, v)),
                    };
                    match parsed {
                        Some((a, z)) if (100..=599).contains(&a) && (100..=599).contains(&z) && a <= z => {
                            u.status_code.push(StatusRange { first: a, last: z });
                        }
                        _ => b.err(
                            w.pos,
                            format!("status_code expects HTTP status codes 100-599 or ranges like 200-299, not \"{}\"", w.text),
                        ),
                    }
                }
            }
            "virtualhost" => u.virtualhost = b.string(&st),
            _ => b.unknown(Block::Url, &st),
        });
        if !has_path {
            self.err(s.keyword.pos, "url has no \"path\"");
            return None;
        }
        if u.status_code.is_empty() {
            u.status_code.push(StatusRange {
                first: 200,
                last: 299,
            });
        }
        u.status_code.shrink_to_fit();
        Some(u)
    }
}

// ---------------------------------------------------------------------------
// resolution: defaults and inheritance, once everything is read

impl Builder {
    fn finish(&mut self) -> Config {
        let mut g = std::mem::take(&mut self.global);
        if !self.lower_prio_delay_set {
            g.vrrp_garp_lower_prio_delay = g.vrrp_garp_master_delay;
        }
        if !self.lower_prio_repeat_set {
            g.vrrp_garp_lower_prio_repeat = g.vrrp_garp_master_repeat;
        }
        let vrrp_alert_default = g.smtp_alert_vrrp.or(g.smtp_alert);
        let checker_alert_default = g.smtp_alert_checker.or(g.smtp_alert);

        let scripts: Vec<VrrpScript> = std::mem::take(&mut self.scripts)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        let resolve_tracks = |list: Vec<(TrackScript, Option<i32>, Option<bool>)>| {
            list.into_iter()
                .map(|(mut t, w, r)| {
                    let script = scripts.iter().find(|s| s.name == t.name);
                    t.weight = w.or(script.map(|s| s.weight)).unwrap_or(0);
                    t.reverse = r.or(script.map(|s| s.weight_reverse)).unwrap_or(false);
                    t
                })
                .collect::<Vec<_>>()
        };

        let mut groups = Vec::new();
        for mut rg in std::mem::take(&mut self.groups) {
            rg.group.smtp_alert = rg.smtp_alert.or(vrrp_alert_default).unwrap_or(false);
            rg.group.track_script = resolve_tracks(std::mem::take(&mut rg.track_script));
            groups.push(rg.group);
        }

        let mut instances = Vec::new();
        for ri in std::mem::take(&mut self.instances) {
            let mut vi = ri.inst;
            vi.track_script = resolve_tracks(ri.track_script);
            vi.smtp_alert = ri.smtp_alert.or(vrrp_alert_default).unwrap_or(false);
            vi.skip_check_adv_addr = ri.skip_check_adv_addr.unwrap_or(g.vrrp_skip_check_adv_addr);
            vi.garp_master_delay = ri.garp_master_delay.unwrap_or(g.vrrp_garp_master_delay);
            vi.garp_master_repeat = ri.garp_master_repeat.unwrap_or(g.vrrp_garp_master_repeat);
            vi.garp_lower_prio_delay = ri
                .garp_lower_prio_delay
                .or(ri.garp_master_delay.filter(|_| !self.lower_prio_delay_set))
                .unwrap_or(g.vrrp_garp_lower_prio_delay);
            vi.garp_lower_prio_repeat = ri
                .garp_lower_prio_repeat
                .or(ri
                    .garp_master_repeat
                    .filter(|_| !self.lower_prio_repeat_set))
                .unwrap_or(g.vrrp_garp_lower_prio_repeat);
            vi.garp_master_refresh = ri.garp_master_refresh.unwrap_or(g.vrrp_garp_master_refresh);
            vi.garp_master_refresh_repeat = ri
                .garp_master_refresh_repeat
                .unwrap_or(g.vrrp_garp_master_refresh_repeat);
            vi.garp_interval = g.vrrp_garp_interval;
            vi.gna_interval = g.vrrp_gna_interval;

            // Version: the instance's, else global; IPv6 is always v3.
            let family = vi.family;
            vi.version = match (ri.version, family) {
                (Some((VrrpVersion::V2, pos)), AddressFamily::Inet6) => {
                    self.err(
                        pos,
                        format!(
                            "vrrp_instance {}: VRRP version 2 is IPv4 only (RFC 3768); IPv6 needs version 3",
                            vi.name
                        ),
                    );
                    VrrpVersion::V3
                }
                (Some((v, _)), _) => v,
                (None, AddressFamily::Inet6) => VrrpVersion::V3,
                (None, AddressFamily::Inet) => g.vrrp_version,
            };
            if let Some((adv, pos)) = ri.advert_int {
                self.check_advert_int(&vi, adv, pos);
                vi.advert_int = adv;
            }
            if vi.version == VrrpVersion::V3
                && vi.authentication.is_some()
                && let Some(pos) = ri.auth_pos
            {
                self.err(
                    pos,
                    format!(
                        "vrrp_instance {}: authentication is not part of VRRP version 3 (RFC 5798)",
                        vi.name
                    ),
                );
            }
            if vi.nopreempt && vi.state == InitialState::Master {
                self.p.lexer.diagnostics.push(Diagnostic::at(
                    Severity::Warning,
                    &vi.origin,
                    format!(
                        "vrrp_instance {}: nopreempt has no effect with state MASTER; use state BACKUP",
                        vi.name
                    ),
                ));
            }
            for (peer, pos) in &ri.peer_pos {
                if AddressFamily::of(peer) != family {
                    let msg = format!(
                        "vrrp_instance {}: unicast_peer {peer} is not {family} like the instance's virtual addresses",
                        vi.name
                    );
                    self.err(*pos, msg);
                }
            }
            if let Some(src) = vi.unicast_src_ip
                && AddressFamily::of(&src) != family
            {
                let msg = format!(
                    "vrrp_instance {}: unicast_src_ip {src} is not {family} like the instance's virtual addresses",
                    vi.name
                );
                match ri.src_pos {
                    Some(pos) => self.err(pos, msg),
                    None => self.p.lexer.diagnostics.push(Diagnostic::at(
                        Severity::Error,
                        &vi.origin,
                        msg,
                    )),
                }
            }
            instances.push(vi);
        }

        // Sync group members must be instances.
        for (group, w) in std::mem::take(&mut self.group_members) {
            if !instances.iter().any(|i| i.name == w.text) {
                let cands = instances.iter().map(|i| i.name.as_str());
                let msg = match keywords::suggest(&w.text, cands) {
                    Some(m) => format!(
                        "vrrp_sync_group {group}: no vrrp_instance named \"{}\"; did you mean \"{m}\"?",
                        w.text
                    ),
                    None => format!(
                        "vrrp_sync_group {group}: no vrrp_instance named \"{}\"",
                        w.text
                    ),
                };
                self.err(w.pos, msg);
            }
        }

        let mut vss = std::mem::take(&mut self.vss);
        // A group service's family is its group's (known only now, since
        // the group may be defined after the service).
        for vs in &mut vss {
            if let VirtualServerKey::Group { name } = &vs.key
                && let Some(g) = self.vsgs.iter().find(|g| &g.name == name)
                && let Some(fam) = g.entries.iter().find_map(|e| match e {
                    VsgEntry::Range { first, .. } => Some(AddressFamily::of(first)),
                    VsgEntry::Fwmark { family, .. } => *family,
                })
            {
                vs.family = fam;
            }
        }
        let mut rs_alert = self.rs_alert.iter();
        for (vs, alert) in vss.iter_mut().zip(&self.vs_alert) {
            vs.smtp_alert = alert.or(checker_alert_default).unwrap_or(false);
            for rs in &mut vs.real_servers {
                // keepalived: real servers alert by default.
                let given = rs_alert.next().copied().flatten();
                rs.smtp_alert = given.or(checker_alert_default).unwrap_or(true);
            }
        }

        Config {
            global_defs: g,
            vrrp_scripts: scripts,
            vrrp_sync_groups: groups,
            vrrp_instances: instances,
            virtual_server_groups: std::mem::take(&mut self.vsgs),
            virtual_servers: vss,
        }
    }

    /// RFC 3768 §5.3.7: whole seconds, 1–255 in an 8-bit field.
    /// RFC 5798 §5.2.7: centiseconds in a 12-bit field, 1–4095.
    fn check_advert_int(&mut self, vi: &VrrpInstance, adv: Duration, pos: Pos) {
        let secs = adv.as_secs_f64();
        match vi.version {
            VrrpVersion::V2 => {
                if adv.subsec_nanos() != 0 {
                    self.err(
                        pos,
                        format!(
                            "advert_int {secs} needs VRRP version 3 (\"version 3\"); version 2 counts whole seconds"
                        ),
                    );
                } else if !(1..=255).contains(&adv.as_secs()) {
                    self.err(
                        pos,
                        format!(
                            "advert_int {secs} is out of range for VRRP version 2 (1-255 seconds)"
                        ),
                    );
                }
            }
            VrrpVersion::V3 => {
                let cs = adv.as_micros() as f64 / 10_000.0;
                if !(1.0..=4095.0).contains(&cs) {
                    self.err(
                        pos,
                        format!("advert_int {secs} is out of range for VRRP version 3 (0.01-40.95 seconds)"),
                    );
                } else if cs.fract() != 0.0 {
                    self.err(
                        pos,
                        format!("advert_int {secs} is not a whole number of centiseconds (VRRP version 3 resolution)"),
                    );
                }
            }
        }
    }

    fn resolve_vs(&mut self, rv: RawVs) -> VirtualServer {
        let mut vs = rv.vs;
        match (&vs.key, rv.protocol_pos) {
            (VirtualServerKey::Fwmark { .. }, Some(pos)) => self.warn(
                pos,
                "protocol is ignored for a fwmark service (the mark selects the packets)",
            ),
            // keepalived 2.2.7 takes a service without `protocol` as UDP
            // ("no protocol set - defaulting to UDP"). tandem runs the same
            // table, but a web site silently served as UDP is rarely what
            // was meant: say so where the service is written.
            (VirtualServerKey::Address { .. } | VirtualServerKey::Group { .. }, None) => {
                let msg = format!(
                    "virtual_server {} has no \"protocol\"; UDP is used, as keepalived does: write \"protocol UDP\" (or \"protocol TCP\") explicitly",
                    vs.key
                );
                self.p
                    .lexer
                    .diagnostics
                    .push(Diagnostic::at(Severity::Warning, &vs.origin, msg));
            }
            _ => {}
        }
        let vs_inh = rv.inh;
        vs.delay_loop = vs_inh.delay_loop.unwrap_or(Duration::from_secs(60));
        vs.alpha = vs_inh.alpha.unwrap_or(false);
        vs.inhibit_on_failure = vs_inh.inhibit_on_failure.unwrap_or(false);
        vs.virtualhost = vs_inh.virtualhost.clone();
        self.vs_alert.push(vs_inh.smtp_alert);
        for w in &rv.sched_flag_words {
            let needs = match w.text.as_str() {
                "sh-port" | "sh-fallback" => Some(LvsSched::Sh),
                "mh-port" | "mh-fallback" => Some(LvsSched::Mh),
                _ => None,
            };
            if let Some(sched) = needs
                && vs.lvs_sched != sched
            {
                let msg = format!(
                    "\"{}\" applies to lvs_sched {}; with {} it sets scheduler flag {}",
                    w.text,
                    sched.name(),
                    vs.lvs_sched.name(),
                    if w.text.ends_with("port") { 2 } else { 1 }
                );
                self.warn(w.pos, msg);
            }
        }
        vs.real_servers.reserve_exact(rv.rss.len());
        let vs_port = match &vs.key {
            VirtualServerKey::Address { port, .. } => *port,
            _ => 0,
        };
        // Family: the address's, else ip_family, else the real servers'.
        vs.family = match &vs.key {
            VirtualServerKey::Address { address, .. } => AddressFamily::of(address),
            _ => rv
                .ip_family
                .or_else(|| rv.rss.first().map(|r| AddressFamily::of(&r.rs.address)))
                .unwrap_or(AddressFamily::Inet),
        };
        if let Some((address, port)) = rv.sorry {
            vs.sorry_server = Some(SorryServer {
                address,
                port: port.unwrap_or(vs_port),
                lvs_method: rv.sorry_method.map_or(vs.lvs_method, |m| m.0),
                tunnel: rv.sorry_method.map_or(vs.tunnel, |m| m.1),
            });
        }
        for rr in rv.rss {
            let mut rs = rr.rs;
            rs.port = rr.port.unwrap_or(vs_port);
            (rs.lvs_method, rs.tunnel) = rr.lvs_method.unwrap_or((vs.lvs_method, vs.tunnel));
            let rs_inh = rr.inh.over(&vs_inh);
            rs.inhibit_on_failure = rs_inh.inhibit_on_failure.unwrap_or(false);
            rs.alpha = rs_inh.alpha.unwrap_or(false);
            self.rs_alert.push(rr.inh.smtp_alert);
            rs.checkers.reserve_exact(rr.checkers.len());
            for rc in rr.checkers {
                let inh = rc.inh.over(&rs_inh);
                let delay_loop = inh.delay_loop.unwrap_or(Duration::from_secs(60));
                let mut kind = rc.kind;
                let (retry_default, dbr_default) = match &kind {
                    CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => (1, Duration::from_secs(3)),
                    CheckerKind::MiscCheck(_) => (0, Duration::from_secs(1)),
                    CheckerKind::TcpCheck => (1, Duration::from_secs(1)),
                };
                match &mut kind {
                    CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => {
                        for u in &mut h.url {
                            if u.virtualhost.is_none() {
                                u.virtualhost = inh.virtualhost.clone();
                            }
                        }
                    }
                    CheckerKind::MiscCheck(m) => {
                        m.misc_timeout = rc.misc_timeout.unwrap_or(delay_loop);
                    }
                    CheckerKind::TcpCheck => {}
                }
                rs.checkers.push(Checker {
                    kind,
                    connect_ip: rc.connect_ip.unwrap_or(rs.address),
                    connect_port: rc.connect_port.unwrap_or(rs.port),
                    bindto: rc.bindto,
                    bind_port: rc.bind_port,
                    bind_if: rc.bind_if,
                    fwmark: rc.fwmark,
                    connect_timeout: inh.connect_timeout.unwrap_or(Duration::from_secs(5)),
                    retry: inh.retry.unwrap_or(retry_default),
                    delay_before_retry: inh.delay_before_retry.unwrap_or(dbr_default),
                    warmup: inh.warmup.unwrap_or(delay_loop),
                    delay_loop,
                    alpha: inh.alpha.unwrap_or(false),
                    log_all_failures: rc.log_all_failures,
                    origin: rc.origin,
                });
            }
            // IPVS forwards DR and TUN packets unchanged: the port is the
            // virtual server's (none for a fwmark service), as keepalived
            // resets it. The checkers keep the port as written.
            if rs.lvs_method != LvsMethod::Nat && rr.port.is_some() {
                let effective = match &vs.key {
                    VirtualServerKey::Address { port, .. } => Some(*port),
                    VirtualServerKey::Fwmark { .. } => Some(0),
                    VirtualServerKey::Group { .. } => None,
                };
                if let Some(p) = effective
                    && rs.port != p
                {
                    let method = if rs.lvs_method == LvsMethod::Dr {
                        "DR"
                    } else {
                        "TUN"
                    };
                    let msg = format!(
                        "real_server {} port {}: with lvs_method {method} IPVS does not translate ports; {}",
                        rs.address,
                        rs.port,
                        if p == 0 {
                            "the port is ignored for a fwmark service".to_string()
                        } else {
                            format!("port {p} is used")
                        }
                    );
                    self.p.lexer.diagnostics.push(Diagnostic::at(
                        Severity::Warning,
                        &rs.origin,
                        msg,
                    ));
                    rs.port = p;
                }
            }
            vs.real_servers.push(rs);
        }
        // keepalived's corrections, made visible: a quorum above the total
        // weight could never be reached, and a hysteresis not below the
        // quorum could never be crossed.
        let weight_sum: u64 = vs.real_servers.iter().map(|r| u64::from(r.weight)).sum();
        if weight_sum > 0 && u64::from(vs.quorum) > weight_sum {
            let msg = format!(
                "virtual_server {}: quorum {} exceeds the total weight {weight_sum} of its real servers; quorum {weight_sum} is used",
                vs.key, vs.quorum
            );
            self.p
                .lexer
                .diagnostics
                .push(Diagnostic::at(Severity::Warning, &vs.origin, msg));
            vs.quorum = weight_sum as u32;
        }
        if vs.hysteresis >= vs.quorum {
            let msg = format!(
                "virtual_server {}: hysteresis {} is not below quorum {}; hysteresis {} is used",
                vs.key,
                vs.hysteresis,
                vs.quorum,
                vs.quorum - 1
            );
            self.p
                .lexer
                .diagnostics
                .push(Diagnostic::at(Severity::Warning, &vs.origin, msg));
            vs.hysteresis = vs.quorum - 1;
        }
        vs
    }
}

#[cfg(test)]
mod smtp_alert_tests {
    use std::path::Path;

    fn load(text: &str) -> crate::config::Config {
        let loaded = crate::config::load_str(
            Path::new("test.conf"),
            text.to_string(),
            &crate::config::LoadOptions::default(),
        );
        match loaded.config {
            Some(c) => c,
            None => panic!("refused: {:?}", loaded.diagnostics),
        }
    }

    const OBJECTS: &str = "\
vrrp_sync_group G1 {
    group {
        VI_1
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.2/24
    }
}
virtual_server 192.0.2.2 80 {
    real_server 198.51.100.10 80 {
    }
}
";

    /// (group, instance, virtual server, real server)
    fn alerts(global: &str, objects: &str) -> (bool, bool, bool, bool) {
        let c = load(&format!("global_defs {{\n{global}}}\n{objects}"));
        (
            c.vrrp_sync_groups[0].smtp_alert,
            c.vrrp_instances[0].smtp_alert,
            c.virtual_servers[0].smtp_alert,
            c.virtual_servers[0].real_servers[0].smtp_alert,
        )
    }

    #[test]
    fn nothing_set_mails_real_servers_only() {
        assert_eq!(alerts("", OBJECTS), (false, false, false, true));
    }

    #[test]
    fn the_global_switch_and_the_per_kind_switches() {
        assert_eq!(alerts("smtp_alert\n", OBJECTS), (true, true, true, true));
        assert_eq!(
            alerts("smtp_alert no\n", OBJECTS),
            (false, false, false, false)
        );
        assert_eq!(
            alerts("smtp_alert\nsmtp_alert_vrrp no\n", OBJECTS),
            (false, false, true, true)
        );
        assert_eq!(
            alerts("smtp_alert_checker no\n", OBJECTS),
            (false, false, false, false)
        );
        assert_eq!(
            alerts("smtp_alert_vrrp\n", OBJECTS),
            (true, true, false, true)
        );
    }

    #[test]
    fn an_object_s_own_switch_wins() {
        let own = OBJECTS
            .replace("    group {", "    smtp_alert\n    group {")
            .replace(
                "    interface eth0",
                "    smtp_alert no\n    interface eth0",
            )
            .replace(
                "    real_server 198.51.100.10 80 {\n",
                "    smtp_alert\n    real_server 198.51.100.10 80 {\n        smtp_alert no\n",
            );
        assert_eq!(
            alerts("smtp_alert_vrrp no\nsmtp_alert_checker\n", &own),
            (true, false, true, false)
        );
    }
}
