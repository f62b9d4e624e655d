//! Segment's Amazon S3 destination files (gzip JSON lines of track, page, screen, identify, group
//! and alias calls) to one table per call type and one per track event.
//!
//! Two passes over the day's files. The first checks every line, learns the event tables'
//! property types and finds duplicate message ids, so that the second can write every row with
//! the day's final schema, in bounded memory, without a row group ever being rewritten.

mod config;

/// The maps looked up once per event or more: foldhash, seeded per process (a property name
/// comes from the events, so the seed stays random).
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
mod event;
mod rows;
mod run;
mod scan;
pub mod schema;
mod shapes;
#[cfg(test)]
mod tests;

pub use config::{DaySelection, SegmentConfig, SegmentFile, TableLimits, batch_time_of_key};
pub use event::{CallType, SegmentEvent, parse_event, parse_time};
pub use run::{
    DayShapes, DayTables, DayWritten, FileScan, FirstOccurrence, ScanSummary, SegmentOutcome,
    WrittenPart, day_outcome, export_segment_files, parallel, scan_file, staged_tables,
    write_file_part,
};
pub use scan::FileRead;
