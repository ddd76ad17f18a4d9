//! Streaming zstd (RFC 8878) for response bodies, run by Pylon itself rather than by
//! pingora 0.9.1's compression module, because the module sets its encoder up for a body of
//! unknown size: at the default level 3 that zeroes ~800 KB of match tables per response,
//! and far more at high levels. Told the body's length (`Content-Length`), zstd sizes its
//! tables and window to the body. Measured on a 2-core development box for a 1 KiB body:
//! ~17 µs unsized against ~4 µs sized at level 3, ~35 ms against ~18 µs at level 19.
//!
//! One [`ZstdEncoder`] per compressed response: [`ZstdEncoder::encode`] takes each body chunk
//! as it arrives and returns what the encoder has produced so far; [`ZstdEncoder::finish`]
//! ends the frame.

use std::io::Write as _;

use bytes::Bytes;
use zstd::stream::write::Encoder;

/// The largest window (log2 bytes): 512 KiB, as for brotli. It bounds the encoder's memory
/// per response and keeps every frame within RFC 9659's 8 MiB limit for the `zstd` content
/// coding (level 19 and above would otherwise choose 8 MiB and more for large bodies).
pub(crate) const MAX_WINDOW_LOG: u32 = 19;

/// The zstd encoder of one response body.
pub(crate) struct ZstdEncoder {
    encoder: Encoder<'static, Vec<u8>>,
}

impl std::fmt::Debug for ZstdEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZstdEncoder").finish_non_exhaustive()
    }
}

impl ZstdEncoder {
    /// An encoder at `level` (1..=22) for a body of `len` bytes when the length is known
    /// (`Content-Length`): zstd then sizes its tables and window to the body and writes the
    /// length into the frame header.
    ///
    /// # Errors
    /// zstd's error when it cannot create the context (out of memory, a level it refuses).
    pub(crate) fn new(level: u32, len: Option<u64>) -> std::io::Result<ZstdEncoder> {
        let level = i32::try_from(level.clamp(1, 22)).unwrap_or(3);
        let mut encoder = Encoder::new(Vec::new(), level)?;
        encoder.window_log(MAX_WINDOW_LOG)?;
        if len.is_some() {
            encoder.set_pledged_src_size(len)?;
        }
        Ok(ZstdEncoder { encoder })
    }

    /// Feeds `input` and returns the compressed bytes produced so far (possibly empty).
    ///
    /// # Errors
    /// zstd's error; also when more bytes arrive than the length given to [`ZstdEncoder::new`].
    pub(crate) fn encode(&mut self, input: &[u8]) -> std::io::Result<Bytes> {
        self.encoder.write_all(input)?;
        Ok(Bytes::from(std::mem::take(self.encoder.get_mut())))
    }

    /// Ends the frame: everything still buffered and the end of the stream.
    ///
    /// # Errors
    /// zstd's error; also when fewer bytes arrived than the length given to
    /// [`ZstdEncoder::new`] (a body cut short must not end as a complete frame).
    pub(crate) fn finish(self) -> std::io::Result<Bytes> {
        Ok(Bytes::from(self.encoder.finish()?))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;
    use crate::test_text as text;

    /// Decodes as a browser may: windows above 2^`window_log_max` are refused.
    fn decode(body: &[u8], window_log_max: u32) -> std::io::Result<Vec<u8>> {
        let mut d = zstd::stream::read::Decoder::new(body)?;
        d.window_log_max(window_log_max)?;
        let mut out = Vec::new();
        d.read_to_end(&mut out)?;
        Ok(out)
    }

    fn encode_in(chunks: &[&[u8]], level: u32, len: Option<u64>) -> std::io::Result<Vec<u8>> {
        let mut e = ZstdEncoder::new(level, len)?;
        let mut out = Vec::new();
        for c in chunks {
            out.extend_from_slice(&e.encode(c)?);
        }
        out.extend_from_slice(&e.finish()?);
        Ok(out)
    }

    #[test]
    fn known_and_unknown_lengths_round_trip_in_any_chunking() {
        let body = text(40_000); // ~2 MiB
        for size in [777, 16 * 1024, 1 << 20] {
            let chunks: Vec<&[u8]> = body.chunks(size).collect();
            for len in [None, Some(body.len() as u64)] {
                let enc = encode_in(&chunks, 3, len).unwrap();
                assert_eq!(
                    decode(&enc, MAX_WINDOW_LOG).unwrap(),
                    body,
                    "chunks of {size}, {len:?}"
                );
            }
        }
    }

    #[test]
    fn a_known_length_is_in_the_frame_header() {
        let body = text(20);
        let enc = encode_in(&[&body], 3, Some(body.len() as u64)).unwrap();
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&enc).ok(),
            Some(Some(body.len() as u64))
        );
        let enc = encode_in(&[&body], 3, None).unwrap();
        assert_eq!(zstd::zstd_safe::get_frame_content_size(&enc).ok(), Some(None));
    }

    #[test]
    fn high_levels_keep_the_window_within_512_kib() {
        // Level 22 on 2 MiB of input would choose a window of 2^27 bytes on its own.
        let body = text(40_000);
        let enc = encode_in(&[&body], 22, None).unwrap();
        assert_eq!(decode(&enc, MAX_WINDOW_LOG).unwrap(), body);
    }

    #[test]
    fn a_body_that_differs_from_its_length_is_an_error_not_a_frame() {
        let body = text(100);
        let mut short = ZstdEncoder::new(3, Some(body.len() as u64 + 1)).unwrap();
        short.encode(&body).unwrap();
        assert!(short.finish().is_err(), "fewer bytes than Content-Length");
        let mut long = ZstdEncoder::new(3, Some(10)).unwrap();
        let over = long.encode(&body).and_then(|_| long.finish());
        assert!(over.is_err(), "more bytes than Content-Length");
    }

    #[test]
    fn empty_bodies_are_valid_frames() {
        for len in [None, Some(0)] {
            let enc = encode_in(&[], 3, len).unwrap();
            assert_eq!(decode(&enc, MAX_WINDOW_LOG).unwrap(), b"");
        }
    }
}
