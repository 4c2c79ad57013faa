//! Kernel network interfaces: rtnetlink addresses and links, raw VRRP sockets, GARP/NA.
