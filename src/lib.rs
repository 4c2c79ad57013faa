//! tandem: two Linux load balancers as one highly available service.
//!
//! Each node runs a VRRP state machine (RFC 3768 / RFC 5798) on raw sockets;
//! the elected master holds the virtual addresses and programs the kernel's
//! IPVS table over generic netlink. Both nodes run the same health checks, so
//! the backup is warm when it takes over. The configuration language is
//! keepalived's, so an operator can bring the `keepalived.conf` they run.
//!
//! The crate is laid out by concern:
//!
//! | module    | what it does                                                    |
//! |-----------|-----------------------------------------------------------------|
//! | `config`  | the keepalived.conf dialect: lexer/parser, typed model, checks  |
//! | `vrrp`    | VRRP wire format and the sans-IO state machine                  |
//! | `net`     | rtnetlink (addresses, links), raw VRRP sockets, GARP / NA       |
//! | `ipvs`    | the IPVS generic-netlink client and the table reconciler        |
//! | `check`   | health checkers (HTTP_GET, SSL_GET, TCP_CHECK, MISC_CHECK)      |
//! | `lvs`     | keepalived's virtual-server logic: quorum, sorry server, weights|
//! | `notify`  | notify scripts and e-mail alerts                                |
//! | `control` | the status socket, metrics, state dumps                         |
//! | `daemon`  | the tokio runtime that wires the pieces to real I/O             |
//! | `cli`     | the `tandem` command line                                       |

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
pub mod vrrp;
