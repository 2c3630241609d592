//! UDS `SOCK_SEQPACKET` transport (in progress).
