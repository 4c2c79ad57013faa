//! tandem: two Linux load balancers as one highly available service.
//!
//! Each node runs a VRRP state machine (RFC 3768 / RFC 5798) on raw sockets;
//! the elected master holds the virtual addresses and programs the kernel's
//! IPVS table over generic netlink. Both nodes run the same health checks, so
//! the backup is warm when it takes over. The configuration language is
//! keepalived's, so an operator can bring the `keepalived.conf` they run.
//!
//! The crate is laid out by concern, in layers: a module imports only from
//! the layers below it (checked by `tests/architecture.rs`; the picture is
//! docs/architecture.md).
//!
//! | layer | module    | what it does                                                    |
//! |-------|-----------|-----------------------------------------------------------------|
//! | 5     | `cli`     | the `tandem` command line and its subcommands' front ends       |
//! | 4     | `daemon`  | the tokio runtime that wires the pieces to real I/O             |
//! | 3     | `lvs`     | keepalived's virtual-server logic: quorum, sorry server, weights|
//! | 3     | `control` | the status socket, metrics, state dumps                         |
//! | 2     | `vrrp`    | VRRP wire format and the sans-IO state machine                  |
//! | 2     | `bfd`     | BFD (RFC 5880 / 5881) codec and sans-IO session state machine   |
//! | 2     | `ipvs`    | the IPVS generic-netlink client and the table reconciler        |
//! | 2     | `check`   | health checkers (HTTP_GET, SSL_GET, TCP_CHECK, MISC_CHECK)      |
//! | 2     | `notify`  | notify scripts and e-mail alerts                                |
//! | 1     | `config`  | the keepalived.conf dialect: lexer/parser, typed model, checks  |
//! | 1     | `net`     | rtnetlink (addresses, links), raw VRRP sockets, GARP / NA       |
//! | 0     | `process` | process-wide helpers: open-files limit, allocator, wall clock   |

pub mod bfd;
pub mod bird;
pub mod check;
pub mod cli;
pub mod config;
pub mod control;
pub mod daemon;
pub mod ipvs;
pub mod lvs;
pub mod net;
pub mod notify;
pub mod process;
pub mod snmp;
pub mod vrrp;
