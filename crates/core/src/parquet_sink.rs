use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// One Snappy Parquet file being written; row groups are flushed as batches arrive, so the
/// memory held is one row group whatever the file's final size.
///
/// Every file is written as Redshift Spectrum, Athena and Glue read the Parquet that AWS's own
/// writers make: format 1.0 data pages with PLAIN, RLE and RLE_DICTIONARY only, decimals on
/// INT32, INT64 or FIXED_LEN_BYTE_ARRAY by precision (the RDS snapshot export's mapping) and
/// timestamps as INT64 microseconds. AWS documents types for Spectrum, not encodings; the v2
/// encodings (DELTA_*, BYTE_STREAM_SPLIT) are ones no AWS writer is documented to produce, so
/// none is used. `tests/e2e/parquet_shape.rs` holds every table of every source to that.
pub struct ParquetSink {
    writer: ArrowWriter<BufWriter<File>>,
    path: PathBuf,
    rows: u64,
}

#[derive(Debug, Clone)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub rows: u64,
    pub bytes: u64,
}

impl ParquetSink {
    /// Columns not named in `plain_columns` get a dictionary, with plain values as the fallback;
    /// the named ones (high-cardinality keys) are written plain, as hashing every value into a
    /// dictionary that is then abandoned would only cost time.
    pub fn create(
        path: &Path,
        schema: SchemaRef,
        row_group_rows: usize,
        plain_columns: &[String],
    ) -> std::io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let mut props = WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(row_group_rows))
            .set_created_by(format!("daybook {}", env!("CARGO_PKG_VERSION")));
        for column in plain_columns {
            props = props.set_column_dictionary_enabled(ColumnPath::from(column.as_str()), false);
        }
        let props = props.build();
        let writer =
            ArrowWriter::try_new(file, schema, Some(props)).map_err(std::io::Error::other)?;
        Ok(Self {
            writer,
            path: path.to_path_buf(),
            rows: 0,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        self.rows += batch.num_rows() as u64;
        self.writer.write(batch).map_err(std::io::Error::other)
    }

    /// Writes `batch` as a row group of its own, so that the writer holds nothing between calls:
    /// the caller's batch size is then the memory bound.
    pub fn write_row_group(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        self.write(batch)?;
        self.writer.flush().map_err(std::io::Error::other)
    }

    pub fn finish(self) -> std::io::Result<WrittenFile> {
        let mut file = self.writer.into_inner().map_err(std::io::Error::other)?;
        std::io::Write::flush(&mut file)?;
        let bytes = std::fs::metadata(&self.path)?.len();
        Ok(WrittenFile {
            path: self.path,
            rows: self.rows,
            bytes,
        })
    }
}
