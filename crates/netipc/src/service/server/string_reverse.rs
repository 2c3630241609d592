//! The `STRING_REVERSE` service facade (test method).

use crate::codec::string_reverse::{StringReverseView, encode_string_reverse};

use super::dispatch::{Fault, ItemContext, Service, ServiceKind, handler_fault};
use super::facade::{handler_impls, service_constructors};
use super::handler::HandlerError;

/// Answers one `STRING_REVERSE` request: the request string's bytes in
/// (without the NUL), the answer's bytes appended to `out` (given empty;
/// the conventional answer is the byte-reversed string).
///
/// Implemented for closures `Fn(&[u8], &mut Vec<u8>) -> Result<(),
/// HandlerError>`, for `Arc<T>` of any handler, and for your own types.
/// Called concurrently from every session thread.
pub trait StringReverseHandler: Send + Sync + 'static {
    /// Answers `text` into `out`.
    fn reverse(&self, text: &[u8], out: &mut Vec<u8>) -> Result<(), HandlerError>;
}

handler_impls!(StringReverseHandler::reverse(text: &[u8], out: &mut Vec<u8>) -> Result<(), HandlerError>);

struct StringReverseService<H>(H);

/// Per-session buffers: the handler's answer and its encoded payload.
#[derive(Default)]
struct Buffers {
    text: Vec<u8>,
    payload: Vec<u8>,
}

impl<H: StringReverseHandler> Service for StringReverseService<H> {
    const KIND: ServiceKind = ServiceKind::StringReverse;
    const BATCHABLE: bool = true;
    type State = Buffers;

    fn new_state(&self, _ctx: &ItemContext) -> Self::State {
        Buffers::default()
    }

    fn handle<'s>(
        &self,
        st: &'s mut Self::State,
        ctx: &mut ItemContext,
        item: &[u8],
    ) -> Result<&'s [u8], Fault> {
        let view = StringReverseView::decode(item).map_err(|_| Fault::Malformed)?;
        st.text.clear();
        self.0
            .reverse(view.as_bytes(), &mut st.text)
            .map_err(|e| handler_fault(e, ctx))?;
        st.payload.clear();
        encode_string_reverse(&st.text, &mut st.payload)
            .map_err(|_| Fault::ResponseTooLarge { needed: u64::MAX })?;
        Ok(&st.payload)
    }
}

service_constructors!(
    /// Starts a `STRING_REVERSE` server (single requests and Level 1
    /// batches).
    ///
    /// ```no_run
    /// # use netipc::service::server::{Server, ServerConfig};
    /// let server = Server::string_reverse(
    ///     &ServerConfig::new("/run/netdata", "reverse"),
    ///     |text: &[u8], out: &mut Vec<u8>| {
    ///         out.extend(text.iter().rev());
    ///         Ok(())
    ///     },
    /// )?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    string_reverse,
    "STRING_REVERSE",
    StringReverseHandler,
    StringReverseService
);
