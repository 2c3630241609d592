//! Level 1 client sessions against a managed server: connecting over a
//! plane, calls whose answers are copied out of the session, and closure
//! checks.

use netipc::Error;
use netipc::service::server::Server;
use netipc::transport::{ClientConfig, ClientSession};
use netipc::wire::Header;

use super::{Plane, TOKEN, soon};

/// A Level 1 client configuration over `t`: request budget 1024, batch
/// items 1, response cap 1 MiB.
pub fn client_config(t: Plane) -> ClientConfig {
    let (supported, preferred) = t.profiles();
    ClientConfig {
        supported_profiles: supported,
        preferred_profiles: preferred,
        auth_token: TOKEN,
        ..ClientConfig::default()
    }
}

/// [`client_config`] with `items` batch items both ways.
pub fn batch_config(t: Plane, items: u32) -> ClientConfig {
    ClientConfig {
        max_request_batch_items: items,
        max_response_batch_items: items,
        ..client_config(t)
    }
}

/// Connects with `cfg` and checks the data plane matches `t`.
pub fn connect_with(server: &Server, t: Plane, cfg: &ClientConfig) -> ClientSession {
    let c = ClientSession::connect(server.endpoint(), cfg, soon(), None)
        .unwrap_or_else(|e| panic!("connect over {t:?}: {e}"));
    assert_eq!(c.is_shm(), t.is_shm(), "data plane of {t:?}");
    c
}

/// Connects with [`client_config`].
pub fn connect(server: &Server, t: Plane) -> ClientSession {
    connect_with(server, t, &client_config(t))
}

/// A received response, copied out of the session.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Its header.
    pub header: Header,
    /// Its payload.
    pub payload: Vec<u8>,
    /// Its items (one for a single response).
    pub items: Vec<Vec<u8>>,
}

impl Answer {
    /// The transport status.
    pub fn status(&self) -> u16 {
        self.header.transport_status
    }

    /// Asserts an error reply: `status`, empty payload, flags 0, one item.
    pub fn assert_error(&self, status: u16) {
        assert_eq!(self.header.transport_status, status, "{:?}", self.header);
        assert_eq!(self.header.payload_len, 0);
        assert!(self.payload.is_empty());
        assert_eq!(self.header.flags, 0);
        assert_eq!(self.header.item_count, 1);
    }
}

fn answer(m: netipc::transport::Message<'_>) -> Answer {
    Answer {
        header: m.header,
        payload: m.payload.to_vec(),
        items: m.items().map(<[u8]>::to_vec).collect(),
    }
}

/// One single call; panics on transport failure.
pub fn call(c: &mut ClientSession, code: u16, payload: &[u8]) -> Answer {
    let m = c
        .call(code, payload, soon(), None)
        .unwrap_or_else(|e| panic!("call: {e}"));
    answer(m)
}

/// One batch call; panics on transport failure.
pub fn call_batch(c: &mut ClientSession, code: u16, items: &[&[u8]]) -> Answer {
    let m = c
        .call_batch(code, items, soon(), None)
        .unwrap_or_else(|e| panic!("batch call: {e}"));
    answer(m)
}

/// One call with a caller-built header (a fresh message id is set).
pub fn call_raw_header(c: &mut ClientSession, mut header: Header, payload: &[u8]) -> Answer {
    header.message_id = c.next_message_id();
    c.send_message(&header, payload).expect("send");
    let m = c.recv_response(soon(), None).expect("recv");
    assert_eq!(m.header.message_id, header.message_id);
    answer(m)
}

/// Asserts that the server closed the session: the next call fails.
pub fn assert_closed(c: &mut ClientSession, code: u16, payload: &[u8]) {
    match c.call(code, payload, soon(), None) {
        Err(Error::PeerClosed | Error::Io(_) | Error::InvalidState(_)) => {}
        Err(e) => panic!("unexpected error after close: {e}"),
        Ok(m) => panic!("session still open: {:?}", m.header),
    }
}
