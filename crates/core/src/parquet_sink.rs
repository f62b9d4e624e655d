use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// One Snappy Parquet file being written; row groups are flushed as batches arrive, so the
/// memory held is one row group whatever the file's final size.
pub struct ParquetSink {
    writer: ArrowWriter<BufWriter<File>>,
    path: PathBuf,
    rows: u64,
}

/// How a column is written when a dictionary would not pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnEncoding {
    /// Values as they are: high-cardinality keys would only pay for hashing every value into a
    /// dictionary that is then abandoned.
    Plain,
    /// Differences between neighbours, bit-packed: small integers that climb in steps, such as
    /// positions in a list, pack as tightly as with a dictionary and without hashing each one.
    Delta,
}

#[derive(Debug, Clone)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub rows: u64,
    pub bytes: u64,
}

impl ParquetSink {
    /// Columns not named in `encodings` get a dictionary, with plain values as the fallback.
    pub fn create(
        path: &Path,
        schema: SchemaRef,
        row_group_rows: usize,
        encodings: &[(String, ColumnEncoding)],
    ) -> std::io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let mut props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(row_group_rows))
            .set_created_by(format!("daybook {}", env!("CARGO_PKG_VERSION")));
        for (column, encoding) in encodings {
            let column = ColumnPath::from(column.as_str());
            props = props.set_column_dictionary_enabled(column.clone(), false);
            if *encoding == ColumnEncoding::Delta {
                props = props.set_column_encoding(column, Encoding::DELTA_BINARY_PACKED);
            }
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
