//! Streaming brotli (RFC 7932) for response bodies, run by Pylon itself: pingora 0.9.1's
//! own brotli compressor ends a body with a flush instead of the end of the stream, so its
//! bodies lack the last meta-block and strict decoders (browsers, curl, the brotli crate)
//! reject them (the test at the bottom shows it).
//!
//! One [`BrotliEncoder`] per compressed response: [`BrotliEncoder::encode`] takes each body
//! chunk as it arrives and returns what the encoder has produced so far (often nothing for
//! a small chunk: brotli keeps up to a window of input before it emits a meta-block);
//! [`BrotliEncoder::finish`] ends the stream with the last meta-block (`ISLAST`), which is
//! what a decoder needs to accept the body as complete.

use std::io::Write as _;

use brotli::{CompressorWriter, enc::encode::BrotliEncoderInitParams};
use bytes::Bytes;

/// The largest window (log2 bytes): 512 KiB, ngx_brotli's default `brotli_window`. It
/// bounds the encoder's memory per response; a response of known, smaller length gets a
/// window just large enough for it.
pub(crate) const MAX_WINDOW_BITS: u32 = 19;
/// RFC 7932's smallest window (1 KiB).
const MIN_WINDOW_BITS: u32 = 10;
/// The smallest window at qualities 5 to 9 (128 KiB). For windows of 64 KiB and less at
/// these qualities the reference encoder switches to small hash tables, which the `brotli`
/// crate does not implement: it falls back to its largest table set instead, and a 1 KiB
/// body at quality 6 took ~125 µs instead of ~50 µs with a 128 KiB window (measured on a
/// 2-core development box; the output is the same size).
const MIN_WINDOW_BITS_Q5_TO_9: u32 = 17;
/// The encoder's output buffer between it and the body `Vec`.
const OUTPUT_BUFFER: usize = 4096;

/// The brotli encoder of one response body.
pub(crate) struct BrotliEncoder {
    writer: CompressorWriter<Vec<u8>>,
}

impl std::fmt::Debug for BrotliEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrotliEncoder").finish_non_exhaustive()
    }
}

/// The window for a body of `len` bytes (unknown: the largest) at `quality`.
fn window_bits(len: Option<u64>, quality: u32) -> u32 {
    let min = if (5..=9).contains(&quality) { MIN_WINDOW_BITS_Q5_TO_9 } else { MIN_WINDOW_BITS };
    match len {
        Some(n) if n > 0 => {
            let bits = u64::BITS - (n - 1).leading_zeros();
            bits.clamp(min, MAX_WINDOW_BITS)
        }
        Some(_) => min,
        None => MAX_WINDOW_BITS,
    }
}

impl BrotliEncoder {
    /// An encoder at `quality` (0..=11) for a body of `len` bytes, when the length is known
    /// (`Content-Length`): it sizes the window and tells the encoder what to expect.
    pub(crate) fn new(quality: u32, len: Option<u64>) -> BrotliEncoder {
        let mut params = BrotliEncoderInitParams();
        params.quality = quality.min(11) as i32;
        params.lgwin = window_bits(len, quality.min(11)) as i32;
        if let Some(n) = len {
            params.size_hint = usize::try_from(n).unwrap_or(usize::MAX);
        }
        BrotliEncoder { writer: CompressorWriter::with_params(Vec::new(), OUTPUT_BUFFER, &params) }
    }

    /// Feeds `input` and returns the compressed bytes produced so far (possibly empty).
    pub(crate) fn encode(&mut self, input: &[u8]) -> std::io::Result<Bytes> {
        self.writer.write_all(input)?;
        Ok(Bytes::from(std::mem::take(self.writer.get_mut())))
    }

    /// Ends the stream: everything still buffered and the final meta-block.
    pub(crate) fn finish(self) -> Bytes {
        // Writing into a Vec cannot fail; `into_inner` runs the encoder's FINISH operation.
        Bytes::from(self.writer.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;
    use crate::test_text as text;

    /// Strict decoding: fails on a stream that does not end with its last meta-block.
    fn decode(body: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        brotli::Decompressor::new(body, 4096).read_to_end(&mut out)?;
        Ok(out)
    }

    fn encode_in(chunks: &[&[u8]], quality: u32, len: Option<u64>) -> Vec<u8> {
        let mut e = BrotliEncoder::new(quality, len);
        let mut out = Vec::new();
        for c in chunks {
            out.extend_from_slice(&e.encode(c).unwrap());
        }
        out.extend_from_slice(&e.finish());
        out
    }

    #[test]
    fn one_chunk_round_trips() {
        let body = text(1000);
        let enc = encode_in(&[&body], 6, Some(body.len() as u64));
        assert!(enc.len() < body.len() / 5, "{} bytes", enc.len());
        assert_eq!(decode(&enc).unwrap(), body);
    }

    #[test]
    fn streamed_chunks_of_any_size_round_trip() {
        let body = text(40_000); // ~2 MiB: several windows
        for size in [1, 777, 16 * 1024, 1 << 20] {
            let chunks: Vec<&[u8]> = body
                .chunks(size.min(body.len()))
                .take(if size == 1 { 3000 } else { usize::MAX })
                .collect();
            let want: Vec<u8> = chunks.concat();
            let enc = encode_in(&chunks, 5, None);
            assert_eq!(decode(&enc).unwrap(), want, "chunks of {size}");
        }
    }

    #[test]
    fn output_is_streamed_before_the_end() {
        let body = text(40_000);
        let mut e = BrotliEncoder::new(4, None);
        let before_end: usize = body.chunks(64 * 1024).map(|c| e.encode(c).unwrap().len()).sum();
        let tail = e.finish();
        assert!(before_end > 0, "the encoder emits while the body streams");
        assert!(!tail.is_empty(), "the last meta-block comes at the end");
    }

    #[test]
    fn empty_body_is_a_valid_stream() {
        let enc = encode_in(&[], 6, None);
        assert!(!enc.is_empty());
        assert_eq!(decode(&enc).unwrap(), b"");
        let enc = encode_in(&[b""], 6, Some(0));
        assert_eq!(decode(&enc).unwrap(), b"");
    }

    #[test]
    fn every_quality_round_trips() {
        let body = text(200);
        for q in 0..=11 {
            assert_eq!(decode(&encode_in(&[&body], q, None)).unwrap(), body, "quality {q}");
        }
    }

    #[test]
    fn a_stream_cut_before_finish_is_rejected() {
        let body = text(2000);
        let mut e = BrotliEncoder::new(6, None);
        let mut enc = e.encode(&body).unwrap().to_vec();
        enc.extend_from_slice(&e.finish());
        enc.truncate(enc.len() - 1);
        assert!(decode(&enc).is_err(), "the decoder notices a missing end");
    }

    #[test]
    fn window_follows_the_known_length() {
        for q in [0, 4, 10, 11] {
            assert_eq!(window_bits(None, q), MAX_WINDOW_BITS);
            assert_eq!(window_bits(Some(0), q), MIN_WINDOW_BITS);
            assert_eq!(window_bits(Some(300), q), MIN_WINDOW_BITS);
            assert_eq!(window_bits(Some(1024), q), 10);
            assert_eq!(window_bits(Some(1025), q), 11);
            assert_eq!(window_bits(Some(20_000), q), 15);
            assert_eq!(window_bits(Some(u64::MAX), q), MAX_WINDOW_BITS);
        }
        for q in 5..=9 {
            assert_eq!(window_bits(Some(0), q), MIN_WINDOW_BITS_Q5_TO_9);
            assert_eq!(window_bits(Some(1024), q), MIN_WINDOW_BITS_Q5_TO_9);
            assert_eq!(window_bits(Some(200_000), q), 18);
            assert_eq!(window_bits(None, q), MAX_WINDOW_BITS);
        }
    }

    /// Why Pylon has its own encoder: pingora 0.9.1's brotli compressor (its compression
    /// module with `br` enabled) ends a body with a flush, not with the end of the stream,
    /// so a strict decoder never sees the last meta-block. If this starts to fail, pingora
    /// fixed it and Pylon could hand brotli back to the module.
    #[test]
    fn pingoras_brotli_stream_never_ends() {
        use pingora_core::protocols::http::compression::{Algorithm, ResponseCompressionCtx};
        let mut ctx = ResponseCompressionCtx::new(0, false, false);
        ctx.adjust_algorithm_level(Algorithm::Brotli, 5);
        let mut req = pingora_http::RequestHeader::build("GET", b"/", None).unwrap();
        req.insert_header("accept-encoding", "br").unwrap();
        ctx.request_filter(&req);
        let body = text(1000);
        let mut resp = pingora_http::ResponseHeader::build(200, None).unwrap();
        resp.insert_header("content-type", "text/plain").unwrap();
        resp.insert_header("content-length", body.len().to_string()).unwrap();
        ctx.response_header_filter(&mut resp, false);
        assert_eq!(resp.headers.get("content-encoding").unwrap(), "br");
        let mut out = Vec::new();
        for (i, c) in body.chunks(4096).enumerate() {
            let last = (i + 1) * 4096 >= body.len();
            let chunk = Bytes::copy_from_slice(c);
            if let Some(b) = ctx.response_body_filter(Some(&chunk), last) {
                out.extend_from_slice(&b);
            }
        }
        decode(&out).expect_err("pingora's brotli body is not a complete stream");
        // The data is all there (flushed); only the end of the stream is missing.
        let mut partial = Vec::new();
        let _ = brotli::Decompressor::new(&out[..], 4096).read_to_end(&mut partial);
        assert_eq!(partial, body);
    }
}
