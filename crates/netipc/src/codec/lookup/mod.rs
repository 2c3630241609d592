//! Shared helpers of the lookup codecs (in progress).
