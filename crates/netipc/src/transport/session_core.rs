//! What the sessions of every transport share: the negotiated limits of a
//! HELLO_ACK, and the session methods themselves, written once as macros
//! expanded inside each platform's `ClientSession` / `ServerSession`.
//!
//! The macros expect the session struct to hold `chan` (a
//! [`Channel`](crate::transport::channel::Channel)) and `ack` (the
//! [`HelloAck`]); client sessions also `in_flight`
//! ([`InFlight`](crate::transport::pipeline::InFlight)) and `next_id`,
//! and an `in_flight(&self) -> &[u64]` method of their own. Expanding
//! them in place (rather than wrapping a generic core) keeps one public
//! type per platform with its own docs, and the calls monomorphic.

use crate::wire::{HelloAck, Limits};

/// The agreed request limits (payload bytes, batch items) of `ack`.
#[inline]
pub(crate) fn request_limits(ack: &HelloAck) -> Limits {
    Limits {
        max_payload: ack.agreed_max_request_payload_bytes,
        max_items: ack.agreed_max_request_batch_items,
    }
}

/// The agreed response limits (payload bytes, batch items) of `ack`.
#[inline]
pub(crate) fn response_limits(ack: &HelloAck) -> Limits {
    Limits {
        max_payload: ack.agreed_max_response_payload_bytes,
        max_items: ack.agreed_max_response_batch_items,
    }
}

/// Accessors of the values negotiated in the handshake, for both sides.
macro_rules! negotiated_accessors {
    () => {
        /// The HELLO_ACK that established the session (final values).
        pub fn hello_ack(&self) -> &$crate::wire::HelloAck {
            &self.ack
        }

        /// The server-assigned session id.
        pub fn session_id(&self) -> u64 {
            self.ack.session_id
        }

        /// The selected transport profile (one `PROFILE_*` bit).
        pub fn selected_profile(&self) -> u32 {
            self.ack.selected_profile
        }

        /// Whether the data plane runs over shared memory.
        pub fn is_shm(&self) -> bool {
            self.chan.is_shm()
        }

        /// The agreed packet size.
        pub fn packet_size(&self) -> u32 {
            self.ack.agreed_packet_size
        }

        /// Agreed request limits (payload bytes, batch items).
        pub fn request_limits(&self) -> $crate::wire::Limits {
            $crate::transport::session_core::request_limits(&self.ack)
        }

        /// Agreed response limits (payload bytes, batch items).
        pub fn response_limits(&self) -> $crate::wire::Limits {
            $crate::transport::session_core::response_limits(&self.ack)
        }

        /// Whether a failure ended the session (every later operation
        /// fails with [`Error::InvalidState`](crate::Error::InvalidState)).
        pub fn is_broken(&self) -> bool {
            self.chan.is_broken()
        }

        /// Bounds each outgoing message by `timeout` (one deadline for all
        /// of its chunks); `None` (the default) blocks. A timeout before
        /// the first packet leaves the session usable; after it, the
        /// session ends. Sends on an SHM session never block.
        pub fn set_send_timeout(&mut self, timeout: Option<std::time::Duration>) {
            self.chan.set_send_timeout(timeout);
        }
    };
}
pub(crate) use negotiated_accessors;

/// The pipelined request / response methods of a client session.
macro_rules! client_methods {
    () => {
        /// A fresh message id: increasing from 1, skipping ids in flight.
        pub fn next_message_id(&mut self) -> u64 {
            loop {
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1);
                if !self.in_flight.contains(id) {
                    return id;
                }
            }
        }

        fn admit(&self, message_id: u64) -> $crate::Result<()> {
            if self.chan.is_broken() {
                return Err($crate::Error::InvalidState(
                    "session ended by an earlier failure; reconnect",
                ));
            }
            if self.chan.is_shm() && !self.in_flight.as_slice().is_empty() {
                return Err($crate::Violation::ShmBusy.into());
            }
            self.in_flight.check_insert(message_id)
        }

        /// Records `message_id` as in flight after a send. A send that
        /// ended the session also counts its id as in flight (it will
        /// never be answered).
        fn track(&mut self, message_id: u64, sent: $crate::Result<()>) -> $crate::Result<()> {
            match sent {
                Ok(()) => self.in_flight.insert(message_id),
                Err(e) => {
                    if self.chan.is_broken() {
                        let _ = self.in_flight.insert(message_id);
                    }
                    Err(e)
                }
            }
        }

        /// Sends a single request. Fails with
        /// [`Violation::DuplicateMessageId`](crate::Violation::DuplicateMessageId)
        /// if `message_id` is in flight, and
        /// [`Error::LimitExceeded`](crate::Error::LimitExceeded) if the
        /// payload exceeds the agreed request budget (nothing is sent in
        /// either case). Its response is received with `recv_response`.
        ///
        /// A send waits while the peer's receive buffer is full, and
        /// meanwhile receives the responses that arrive (to requests
        /// already in flight; at most one each), which the next
        /// `recv_response` calls return in order: a client may pipeline
        /// more than the transport buffers hold (socket buffers on UDS,
        /// `PIPE_BUFFER_SIZE` each way on Named Pipes, where the write
        /// stays pending while they are read) against a server that
        /// blocks sending responses nobody reads yet. Any failure while
        /// receiving ahead ends the session.
        pub fn send_request(
            &mut self,
            code: u16,
            message_id: u64,
            payload: &[u8],
        ) -> $crate::Result<()> {
            let len =
                $crate::transport::envelope::out_u32(payload.len(), "payload longer than 4 GiB")?;
            let header = $crate::wire::Header::request(code, message_id, len);
            self.send_message(&header, payload)
        }

        /// Sends a batch request of `items` (one message id, items answered
        /// by position). A single item is sent as a plain request.
        pub fn send_batch_request(
            &mut self,
            code: u16,
            message_id: u64,
            items: &[&[u8]],
        ) -> $crate::Result<()> {
            self.admit(message_id)?;
            self.chan.allow_drain(self.in_flight.as_slice().len());
            let r = self
                .chan
                .send_batch($crate::wire::Header::request(code, message_id, 0), items);
            self.track(message_id, r)
        }

        /// Sends a request with a caller-built header (kind REQUEST; for
        /// batch payloads built elsewhere with
        /// [`BatchBuilder`](crate::wire::BatchBuilder)).
        pub fn send_message(
            &mut self,
            header: &$crate::wire::Header,
            payload: &[u8],
        ) -> $crate::Result<()> {
            self.admit(header.message_id)?;
            self.chan.allow_drain(self.in_flight.as_slice().len());
            let r = self.chan.send(header, payload);
            self.track(header.message_id, r)
        }

        /// Receives the next response (any in-flight id, in any order).
        ///
        /// `Deadline::NEVER` without an abort handle is a plain blocking
        /// receive; otherwise the same deadline covers every chunk of the
        /// message and the abort handle is watched alongside the session
        /// ([`Error::Timeout`](crate::Error::Timeout) /
        /// [`Error::Aborted`](crate::Error::Aborted), after which the
        /// session stays usable). A response whose id is not in flight is
        /// [`Violation::UnknownMessageId`](crate::Violation::UnknownMessageId).
        pub fn recv_response(
            &mut self,
            deadline: $crate::transport::Deadline,
            abort: Option<&$crate::transport::AbortHandle>,
        ) -> $crate::Result<$crate::transport::Message<'_>> {
            let (header, range) = self.chan.recv(deadline, abort)?;
            if !self.in_flight.remove(header.message_id) {
                self.chan.set_broken();
                return Err($crate::Violation::UnknownMessageId.into());
            }
            $crate::transport::Message::new(header, self.chan.payload(range))
                .inspect_err(|_| self.chan.set_broken())
        }

        /// Sends one request with a fresh message id and waits for its
        /// response. Requires that nothing else is in flight.
        pub fn call(
            &mut self,
            code: u16,
            payload: &[u8],
            deadline: $crate::transport::Deadline,
            abort: Option<&$crate::transport::AbortHandle>,
        ) -> $crate::Result<$crate::transport::Message<'_>> {
            let id = self.call_id()?;
            self.send_request(code, id, payload)?;
            self.recv_response(deadline, abort)
        }

        /// `call` for a batch of items.
        pub fn call_batch(
            &mut self,
            code: u16,
            items: &[&[u8]],
            deadline: $crate::transport::Deadline,
            abort: Option<&$crate::transport::AbortHandle>,
        ) -> $crate::Result<$crate::transport::Message<'_>> {
            let id = self.call_id()?;
            self.send_batch_request(code, id, items)?;
            self.recv_response(deadline, abort)
        }

        /// A fresh message id for a call, which requires that nothing else
        /// is in flight.
        fn call_id(&mut self) -> $crate::Result<u64> {
            if !self.in_flight().is_empty() {
                return Err($crate::Error::InvalidState(
                    "call() with requests in flight",
                ));
            }
            Ok(self.next_message_id())
        }
    };
}
pub(crate) use client_methods;

/// The request / response methods of a server session.
macro_rules! server_methods {
    () => {
        /// Receives the next request (blocking with `Deadline::NEVER` and
        /// no abort handle; the timed form follows the rules of the
        /// client's `recv_response`). Over-limit requests fail with
        /// [`Error::LimitExceeded`](crate::Error::LimitExceeded) before
        /// anything is allocated for them.
        pub fn recv_request(
            &mut self,
            deadline: $crate::transport::Deadline,
            abort: Option<&$crate::transport::AbortHandle>,
        ) -> $crate::Result<$crate::transport::Message<'_>> {
            let (header, range) = self.chan.recv(deadline, abort)?;
            $crate::transport::Message::new(header, self.chan.payload(range))
                .inspect_err(|_| self.chan.set_broken())
        }

        /// Sends a single OK response (`flags = 0`, `item_count = 1`).
        pub fn send_response(
            &mut self,
            code: u16,
            message_id: u64,
            payload: &[u8],
        ) -> $crate::Result<()> {
            let len =
                $crate::transport::envelope::out_u32(payload.len(), "payload longer than 4 GiB")?;
            let header = $crate::wire::Header::response(code, message_id, len);
            self.chan.send(&header, payload)
        }

        /// Sends a batch response of `items` (answering a batch request by
        /// position). A single item is sent as a plain response.
        pub fn send_batch_response(
            &mut self,
            code: u16,
            message_id: u64,
            items: &[&[u8]],
        ) -> $crate::Result<()> {
            self.chan
                .send_batch($crate::wire::Header::response(code, message_id, 0), items)
        }

        /// Sends an error reply: `status`, empty payload, `flags = 0`,
        /// `item_count = 1`, the request's code and message id.
        pub fn send_error(
            &mut self,
            code: u16,
            message_id: u64,
            status: u16,
        ) -> $crate::Result<()> {
            self.chan.send(
                &$crate::wire::Header::error_response(code, message_id, status),
                &[],
            )
        }

        /// Sends a response with a caller-built header (kind RESPONSE).
        pub fn send_message(
            &mut self,
            header: &$crate::wire::Header,
            payload: &[u8],
        ) -> $crate::Result<()> {
            self.chan.send(header, payload)
        }

        /// The header of the last request received, including one that was
        /// then rejected (over a limit, bad batch directory, corrupt
        /// chunks).
        pub fn last_request_header(&self) -> Option<$crate::wire::Header> {
            self.chan.last_header()
        }

        /// After `recv_request` failed on a request whose header decoded
        /// (typically [`Error::LimitExceeded`](crate::Error::LimitExceeded)):
        /// sends the final error reply `status` with that request's code
        /// and message id, so the client learns why before the session is
        /// closed. Valid only once the session has failed; drop the
        /// session afterwards.
        pub fn send_final_error(&mut self, status: u16) -> $crate::Result<()> {
            if !self.chan.is_broken() {
                return Err($crate::Error::InvalidState("the session has not failed"));
            }
            let Some(h) = self
                .chan
                .last_header()
                .filter(|h| h.kind == $crate::protocol::KIND_REQUEST)
            else {
                return Err($crate::Error::InvalidState("no request header to answer"));
            };
            self.chan.send_final(&$crate::wire::Header::error_response(
                h.code,
                h.message_id,
                status,
            ))
        }
    };
}
pub(crate) use server_methods;
