//! The control socket: status as JSON, Prometheus metrics, state dumps.
