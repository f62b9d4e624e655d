//! Reading a Segment file line by line, the same way in both passes.

use super::config::SegmentFile;
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};

/// What reading a file to its end (or to where it broke) found.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct FileRead {
    /// Non-empty lines.
    pub lines: u64,
    /// Uncompressed bytes.
    pub bytes: u64,
    /// Why the file could not be read to its end.
    pub error: Option<String>,
}

/// A line's text, or why it cannot be an event.
pub type LineText<'a> = Result<&'a str, String>;

/// Calls `visit(line_number, text)` for every non-empty line of a (gzip or plain) file.
pub fn read_lines(
    file: &SegmentFile,
    max_line_bytes: usize,
    mut visit: impl FnMut(u32, LineText<'_>, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<FileRead> {
    let mut read = FileRead::default();
    let mut reader = match open(file) {
        Ok(reader) => reader,
        Err(e) => {
            read.error = Some(format!("{} could not be opened: {e}", file.label));
            return Ok(read);
        }
    };
    let mut buffer = Vec::with_capacity(64 * 1024);
    let mut number = 0u32;
    loop {
        let line = match crate::lines::read_line(&mut reader, &mut buffer, max_line_bytes) {
            Ok((crate::lines::Line::End, _)) => break,
            Ok((line, _)) => line,
            Err(e) => {
                read.error = Some(format!(
                    "{} is truncated or corrupt after line {number} ({e}); the events before it were kept, ask Segment to replay the batch to recover the rest",
                    file.label
                ));
                break;
            }
        };
        number += 1;
        if let crate::lines::Line::Oversized(length) = line {
            // Read past without keeping it: memory stays bounded whatever the file holds.
            read.bytes += length;
            read.lines += 1;
            let reason = format!(
                "line is {length} bytes, over the {max_line_bytes}-byte limit (Segment refuses messages over 32 KB); it was not read into memory"
            );
            visit(number, Err(reason), &[])?;
            continue;
        }
        read.bytes += buffer.len() as u64;
        let bytes = trim_newline(&buffer);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        read.lines += 1;
        let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"));
        visit(number, text, bytes)?;
    }
    Ok(read)
}

fn trim_newline(bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &bytes[..end]
}

fn open(file: &SegmentFile) -> std::io::Result<Box<dyn BufRead>> {
    let mut handle = File::open(&file.path)?;
    let mut magic = [0u8; 2];
    let gzip = handle.read(&mut magic)? == 2 && magic == [0x1f, 0x8b];
    let handle = File::open(&file.path)?;
    let reader: Box<dyn Read> = if gzip {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(
            1 << 20,
            handle,
        )))
    } else {
        Box::new(handle)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 20, reader)))
}
