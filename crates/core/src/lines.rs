//! Reading a file line by line with a bound on the memory one line may take.
//!
//! `BufRead::read_until` keeps a line whole in memory before anyone can look at its length: a
//! 4 MB gzip holding one 1 GB line takes 1 GB. Here a line over the limit stops being kept as
//! soon as it passes the limit; the rest of it is read and dropped, and only its length is
//! reported, so the caller quarantines it and goes on with the next line.

use std::io::{BufRead, ErrorKind};

/// What one call read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// No more input.
    End,
    /// A line (with its newline, if it had one) is in the buffer.
    Kept,
    /// A line of this many bytes was longer than the limit; the buffer holds none of it.
    Oversized(u64),
}

/// Reads the next line into `buffer` (cleared first), keeping at most `max_bytes` of it (not
/// counting its line ending); the second value is how many bytes the line took in the input.
pub fn read_line<R: BufRead + ?Sized>(
    reader: &mut R,
    buffer: &mut Vec<u8>,
    max_bytes: usize,
) -> std::io::Result<(Line, u64)> {
    buffer.clear();
    let mut total = 0u64;
    let mut oversized = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            // The last line, without a line ending.
            let line = match (total, oversized) {
                (0, _) => Line::End,
                (_, true) => Line::Oversized(total),
                (_, false) if content_len(buffer) > max_bytes => {
                    buffer.clear();
                    Line::Oversized(total)
                }
                (_, false) => Line::Kept,
            };
            return Ok((line, total));
        }
        let (take, ends) = match memchr::memchr(b'\n', available) {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        if !oversized {
            // Room for a "\r\n" beyond the limit: the ending is not part of the line.
            if buffer.len() + take > max_bytes + 2 {
                oversized = true;
                buffer.clear();
                buffer.shrink_to(64 * 1024);
            } else {
                buffer.extend_from_slice(&available[..take]);
            }
        }
        reader.consume(take);
        total += take as u64;
        if ends {
            let line = if oversized {
                Line::Oversized(total)
            } else if content_len(buffer) > max_bytes {
                buffer.clear();
                Line::Oversized(total)
            } else {
                Line::Kept
            };
            return Ok((line, total));
        }
    }
}

fn content_len(bytes: &[u8]) -> usize {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<(Line, Vec<u8>)> {
        // A small buffer so that lines span many fills.
        let mut reader = std::io::BufReader::with_capacity(4, input);
        let mut buffer = Vec::new();
        let mut out = Vec::new();
        loop {
            let (line, _) = read_line(&mut reader, &mut buffer, max).unwrap();
            if line == Line::End {
                return out;
            }
            out.push((line, buffer.clone()));
        }
    }

    #[test]
    fn a_line_over_the_limit_is_dropped_and_the_next_is_read() {
        let long = "x".repeat(1000);
        let input = format!("short\n{long}\nafter\r\nlast");
        let got = lines(input.as_bytes(), 10);
        assert_eq!(
            got,
            vec![
                (Line::Kept, b"short\n".to_vec()),
                (Line::Oversized(1001), vec![]),
                (Line::Kept, b"after\r\n".to_vec()),
                (Line::Kept, b"last".to_vec()),
            ]
        );
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_kept() {
        let got = lines(b"0123456789\r\n01234567890\n", 10);
        assert_eq!(got[0].0, Line::Kept);
        assert_eq!(got[1].0, Line::Oversized(12));
    }

    #[test]
    fn memory_stays_bounded_whatever_the_line() {
        let big = vec![b'y'; 8 << 20];
        let mut reader = std::io::BufReader::with_capacity(64 * 1024, &big[..]);
        let mut buffer = Vec::new();
        let (line, bytes) = read_line(&mut reader, &mut buffer, 1024).unwrap();
        assert_eq!((line, bytes), (Line::Oversized(8 << 20), 8 << 20));
        assert!(
            buffer.capacity() <= 64 * 1024 + 2048,
            "{}",
            buffer.capacity()
        );
    }
}
