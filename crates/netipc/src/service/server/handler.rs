//! What a typed handler may report instead of an answer.

use crate::error::{Error, Limit};

/// A typed handler's failure.
///
/// Business outcomes ("not found", "unknown PID") are not failures: they
/// are answered through the response fields. A failure makes the server
/// answer the whole request (or batch) with an error status and empty
/// payload, then close that session; the client recovers by
/// reconnecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandlerError {
    /// The handler could not answer: the client gets `INTERNAL_ERROR`.
    /// The text is for diagnostics only; it never leaves the process.
    Failed(&'static str),
    /// The answer does not fit the server's largest response payload
    /// (for example a snapshot builder's `add_item` failed with
    /// [`Error::LimitExceeded`]): the client gets `LIMIT_EXCEEDED`, and the
    /// learned response budget grows if it still can.
    ResponseTooLarge,
}

impl HandlerError {
    /// A generic failure (`INTERNAL_ERROR`).
    pub const FAILED: HandlerError = HandlerError::Failed("handler failed");
}

impl std::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandlerError::Failed(why) => write!(f, "handler failed: {why}"),
            HandlerError::ResponseTooLarge => f.write_str("response too large"),
        }
    }
}

impl std::error::Error for HandlerError {}

/// Codec errors inside a handler (`builder.add_item(..)?`): a response
/// payload limit becomes [`HandlerError::ResponseTooLarge`], anything else
/// [`HandlerError::Failed`].
impl From<Error> for HandlerError {
    fn from(e: Error) -> Self {
        match e {
            Error::LimitExceeded {
                limit: Limit::ResponsePayload,
                ..
            } => HandlerError::ResponseTooLarge,
            Error::InvalidArgument(why) | Error::InvalidState(why) => HandlerError::Failed(why),
            _ => HandlerError::FAILED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_codec_errors() {
        let too_big = Error::LimitExceeded {
            limit: Limit::ResponsePayload,
            max: 1,
            actual: 2,
        };
        assert_eq!(HandlerError::from(too_big), HandlerError::ResponseTooLarge);
        assert_eq!(
            HandlerError::from(Error::InvalidArgument("x")),
            HandlerError::Failed("x")
        );
        assert_eq!(HandlerError::from(Error::Timeout), HandlerError::FAILED);
        assert_eq!(
            HandlerError::FAILED.to_string(),
            "handler failed: handler failed"
        );
        assert_eq!(
            HandlerError::ResponseTooLarge.to_string(),
            "response too large"
        );
    }
}
