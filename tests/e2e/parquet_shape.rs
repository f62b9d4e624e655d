//! The Parquet the lake holds, held to what AWS documents for the engines that read it.
//!
//! Redshift Spectrum's documentation names the types an external table may have and says that a
//! Parquet column's type must match the table's; it names no encodings. So every file is held to
//! what AWS's own Parquet writers are documented to produce (the RDS snapshot export's "Data
//! conversion when exporting to an Amazon S3 bucket" page): decimals on INT32 below 10 digits,
//! INT64 below 19 and FIXED_LEN_BYTE_ARRAY above, and pages of the Parquet format 1.0 with no
//! encoding newer than RLE_DICTIONARY. Timestamps are INT64 microseconds, never the nanoseconds
//! Spectrum misreads (apache/arrow#38000) nor the legacy INT96.

use parquet::basic::{Encoding, LogicalType, PageType, TimeUnit, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::path::{Path, PathBuf};

/// Encodings of the format's first version, which every Parquet reader implements.
const FIRST_VERSION_ENCODINGS: [Encoding; 3] =
    [Encoding::PLAIN, Encoding::RLE, Encoding::RLE_DICTIONARY];

fn parquet_files(root: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            parquet_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "parquet") {
            found.push(path);
        }
    }
}

/// Every way `file` departs from the shape above, one line each.
pub(crate) fn departures(file: &Path) -> Vec<String> {
    let reader = SerializedFileReader::new(std::fs::File::open(file).unwrap()).unwrap();
    let metadata = reader.metadata();
    let mut found = Vec::new();
    for column in metadata.file_metadata().schema_descr().columns() {
        let name = column.path().string();
        let physical = column.physical_type();
        match column.logical_type_ref() {
            Some(LogicalType::Decimal(decimal)) => {
                let precision = decimal.precision;
                let expected = match precision {
                    ..=9 => PhysicalType::INT32,
                    10..=18 => PhysicalType::INT64,
                    _ => PhysicalType::FIXED_LEN_BYTE_ARRAY,
                };
                if physical != expected {
                    found.push(format!(
                        "{name}: decimal({precision}) on {physical:?}, not {expected:?}"
                    ));
                }
            }
            Some(LogicalType::Timestamp(timestamp)) => {
                let unit = &timestamp.unit;
                if !matches!(unit, TimeUnit::MICROS | TimeUnit::MILLIS) {
                    found.push(format!("{name}: timestamp in {unit:?}"));
                }
            }
            _ => {}
        }
        if physical == PhysicalType::INT96 {
            found.push(format!("{name}: INT96"));
        }
    }
    for group in metadata.row_groups() {
        for chunk in group.columns() {
            let name = chunk.column_path().string();
            for encoding in chunk.encodings() {
                if !FIRST_VERSION_ENCODINGS.contains(&encoding) {
                    found.push(format!("{name}: encoded {encoding:?}"));
                }
            }
        }
    }
    for group in 0..metadata.num_row_groups() {
        let group = reader.get_row_group(group).unwrap();
        for column in 0..group.num_columns() {
            let name = group.metadata().column(column).column_path().string();
            for page in group.get_column_page_reader(column).unwrap() {
                let page = page.unwrap();
                if !matches!(
                    page.page_type(),
                    PageType::DATA_PAGE | PageType::DICTIONARY_PAGE
                ) {
                    found.push(format!("{name}: a {:?} page", page.page_type()));
                }
                if !FIRST_VERSION_ENCODINGS.contains(&page.encoding()) {
                    found.push(format!("{name}: a page encoded {:?}", page.encoding()));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Checks every Parquet file under `root` and returns how many there were.
pub(crate) fn assert_every_file_reads_as_aws_writes_it(root: &Path) -> usize {
    let mut files = Vec::new();
    parquet_files(root, &mut files);
    let failures: Vec<String> = files
        .iter()
        .flat_map(|file| {
            departures(file)
                .into_iter()
                .map(move |d| format!("{}: {d}", file.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    files.len()
}
