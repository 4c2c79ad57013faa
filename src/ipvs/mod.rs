//! The IPVS (LVS) client over generic netlink and the table reconciler.
