//! keepalived's virtual-server logic: real-server state, quorum, sorry server.
