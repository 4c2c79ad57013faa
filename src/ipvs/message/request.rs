//! The requests tandem sends ([`IpvsMessage::new_service`] and the rest,
//! one per `IPVS_CMD_*`) and the readers of their replies
//! ([`IpvsMessage::to_service`] and the rest).
//!
//! Messages only; sending them is [`crate::ipvs::client`]'s.

use std::net::IpAddr;

use netlink_packet_core::DecodeError;

use super::attr::{CmdAttr, DaemonAttr, IpvsCmd, IpvsMessage};
use super::table::{
    daemon_attrs, daemon_from_attrs, dest_attrs, dest_from_attrs, dest_key_attrs, missing,
    service_attrs, service_from_attrs, service_key_attrs,
};
use crate::ipvs::types::{
    DaemonState, DestEntry, Destination, Family, Info, Service, ServiceEntry, ServiceKey,
    SyncDaemon, Timeouts,
};

// ---------------------------------------------------------------------------
// Requests.

impl IpvsMessage {
    pub fn new(cmd: IpvsCmd, attrs: Vec<CmdAttr>) -> Self {
        IpvsMessage { cmd, attrs }
    }

    pub fn new_service(svc: &Service) -> Self {
        Self::new(
            IpvsCmd::NewService,
            vec![CmdAttr::Service(service_attrs(svc))],
        )
    }

    pub fn set_service(svc: &Service) -> Self {
        Self::new(
            IpvsCmd::SetService,
            vec![CmdAttr::Service(service_attrs(svc))],
        )
    }

    pub fn del_service(key: &ServiceKey) -> Self {
        Self::new(
            IpvsCmd::DelService,
            vec![CmdAttr::Service(service_key_attrs(key))],
        )
    }

    /// GET_SERVICE: one service (a plain request) or all (with NLM_F_DUMP
    /// and no attribute).
    pub fn get_service(key: Option<&ServiceKey>) -> Self {
        let attrs = key
            .map(|k| vec![CmdAttr::Service(service_key_attrs(k))])
            .unwrap_or_default();
        Self::new(IpvsCmd::GetService, attrs)
    }

    pub fn new_dest(svc: &ServiceKey, d: &Destination) -> Self {
        Self::new(
            IpvsCmd::NewDest,
            vec![
                CmdAttr::Service(service_key_attrs(svc)),
                CmdAttr::Dest(dest_attrs(d)),
            ],
        )
    }

    pub fn set_dest(svc: &ServiceKey, d: &Destination) -> Self {
        Self::new(
            IpvsCmd::SetDest,
            vec![
                CmdAttr::Service(service_key_attrs(svc)),
                CmdAttr::Dest(dest_attrs(d)),
            ],
        )
    }

    pub fn del_dest(svc: &ServiceKey, addr: &IpAddr, port: u16) -> Self {
        Self::new(
            IpvsCmd::DelDest,
            vec![
                CmdAttr::Service(service_key_attrs(svc)),
                CmdAttr::Dest(dest_key_attrs(addr, port)),
            ],
        )
    }

    /// GET_DEST (always a dump): the destinations of one service.
    pub fn get_dest(svc: &ServiceKey) -> Self {
        Self::new(
            IpvsCmd::GetDest,
            vec![CmdAttr::Service(service_key_attrs(svc))],
        )
    }

    pub fn new_daemon(d: &SyncDaemon) -> Self {
        Self::new(IpvsCmd::NewDaemon, vec![CmdAttr::Daemon(daemon_attrs(d))])
    }

    pub fn del_daemon(state: DaemonState) -> Self {
        Self::new(
            IpvsCmd::DelDaemon,
            vec![CmdAttr::Daemon(vec![DaemonAttr::State(state.number())])],
        )
    }

    pub fn get_daemon() -> Self {
        Self::new(IpvsCmd::GetDaemon, vec![])
    }

    /// SET_CONFIG: only the timeouts given are changed.
    pub fn set_config(t: &Timeouts) -> Self {
        let mut attrs = Vec::new();
        if let Some(v) = t.tcp {
            attrs.push(CmdAttr::TimeoutTcp(v));
        }
        if let Some(v) = t.tcp_fin {
            attrs.push(CmdAttr::TimeoutTcpFin(v));
        }
        if let Some(v) = t.udp {
            attrs.push(CmdAttr::TimeoutUdp(v));
        }
        Self::new(IpvsCmd::SetConfig, attrs)
    }

    pub fn get_config() -> Self {
        Self::new(IpvsCmd::GetConfig, vec![])
    }

    pub fn get_info() -> Self {
        Self::new(IpvsCmd::GetInfo, vec![])
    }

    /// ZERO: the counters of one service, or of all when `None`.
    pub fn zero(svc: Option<&ServiceKey>) -> Self {
        let attrs = svc
            .map(|k| vec![CmdAttr::Service(service_key_attrs(k))])
            .unwrap_or_default();
        Self::new(IpvsCmd::Zero, attrs)
    }

    pub fn flush() -> Self {
        Self::new(IpvsCmd::Flush, vec![])
    }

    // Reply readers.

    /// The service of a NEW_SERVICE reply (GET_SERVICE answer or dump part).
    pub fn to_service(&self) -> Result<ServiceEntry, DecodeError> {
        self.attrs
            .iter()
            .find_map(|a| match a {
                CmdAttr::Service(s) => Some(service_from_attrs(s)),
                _ => None,
            })
            .unwrap_or_else(|| Err(missing("a service attribute")))
    }

    /// The destination of a NEW_DEST reply (GET_DEST dump part).
    pub fn to_dest(&self, svc_family: Family) -> Result<DestEntry, DecodeError> {
        self.attrs
            .iter()
            .find_map(|a| match a {
                CmdAttr::Dest(d) => Some(dest_from_attrs(d, svc_family)),
                _ => None,
            })
            .unwrap_or_else(|| Err(missing("a destination attribute")))
    }

    /// The daemon of a NEW_DAEMON reply (GET_DAEMON dump part).
    pub fn to_daemon(&self) -> Result<SyncDaemon, DecodeError> {
        self.attrs
            .iter()
            .find_map(|a| match a {
                CmdAttr::Daemon(d) => Some(daemon_from_attrs(d)),
                _ => None,
            })
            .unwrap_or_else(|| Err(missing("a daemon attribute")))
    }

    /// The timeouts of a SET_CONFIG reply.
    pub fn to_timeouts(&self) -> Timeouts {
        let mut t = Timeouts::default();
        for a in &self.attrs {
            match a {
                CmdAttr::TimeoutTcp(v) => t.tcp = Some(*v),
                CmdAttr::TimeoutTcpFin(v) => t.tcp_fin = Some(*v),
                CmdAttr::TimeoutUdp(v) => t.udp = Some(*v),
                _ => {}
            }
        }
        t
    }

    /// The version and table size of a SET_INFO reply.
    pub fn to_info(&self) -> Result<Info, DecodeError> {
        let mut version = None;
        let mut size = None;
        for a in &self.attrs {
            match a {
                CmdAttr::InfoVersion(v) => version = Some(*v),
                CmdAttr::InfoConnTabSize(v) => size = Some(*v),
                _ => {}
            }
        }
        Ok(Info {
            version: version.ok_or_else(|| missing("the IPVS version"))?,
            conn_tab_size: size.ok_or_else(|| missing("the connection table size"))?,
        })
    }
}
