//! The keepalived.conf dialect: parser, typed model and validation.
