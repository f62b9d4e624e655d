use super::vocabulary::{DEVICES, KEYWORDS, LIBRARIES, isbn13, skewed};
use chrono::NaiveDate;
use flate2::Compression;
use flate2::write::GzEncoder;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// What `daybook generate dynamodb-export` makes.
#[derive(Debug, Clone)]
pub struct ExportSpec {
    pub items: u64,
    pub files: usize,
    pub date: NaiveDate,
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub struct GeneratedExport {
    pub folder: PathBuf,
    pub items: u64,
    pub bytes_gzip: u64,
}

/// A data file written: its name, its items and its size in bytes.
type WrittenFile = (String, u64, u64);

pub const EXPORT_ID: &str = "01700000000000-search";

/// Writes a DynamoDB export in DYNAMODB_JSON format of search-query items into `folder`:
/// `manifest-summary.json`, `manifest-files.json` and `data/*.json.gz`, files written in parallel.
pub fn write_search_export(folder: &Path, spec: &ExportSpec) -> std::io::Result<GeneratedExport> {
    let data = folder.join("data");
    std::fs::create_dir_all(&data)?;
    let files = spec.files.max(1);
    let per_file = spec.items / files as u64;
    let counts: Vec<u64> = (0..files)
        .map(|i| per_file + u64::from((i as u64) < spec.items % files as u64))
        .collect();
    // One thread per core, each taking every n-th file: `--files 100000` must not ask the
    // system for 100,000 threads.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(files);
    let mut results: Vec<(usize, std::io::Result<WrittenFile>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let (data, counts) = (&data, &counts);
                scope.spawn(move || {
                    (thread..files)
                        .step_by(threads)
                        .map(|index| {
                            let name = format!("{:08x}{:04}.json.gz", spec.seed as u32, index);
                            let path = data.join(&name);
                            let written = write_data_file(&path, index, counts[index], spec)
                                .and_then(|()| std::fs::metadata(&path))
                                .map(|m| (name, counts[index], m.len()));
                            (index, written)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("generator thread panicked"))
            .collect()
    });
    results.sort_by_key(|(index, _)| *index);
    let results = results.into_iter().map(|(_, r)| r);
    let mut manifest = String::new();
    let mut bytes = 0;
    for result in results {
        let (name, count, size) = result?;
        bytes += size;
        manifest.push_str(
            &json!({
                "itemCount": count,
                "md5Checksum": "",
                "etag": "",
                "dataFileS3Key": format!("AWSDynamoDB/{EXPORT_ID}/data/{name}"),
            })
            .to_string(),
        );
        manifest.push('\n');
    }
    std::fs::write(folder.join("manifest-files.json"), manifest)?;
    let summary = json!({
        "version": "2020-06-30",
        "exportArn": format!("arn:aws:dynamodb:eu-west-1:000000000000:table/search_queries/export/{EXPORT_ID}"),
        "tableArn": "arn:aws:dynamodb:eu-west-1:000000000000:table/search_queries",
        "exportTime": format!("{}T23:59:59Z", spec.date),
        "outputFormat": "DYNAMODB_JSON",
        "itemCount": spec.items,
        "manifestFilesS3Key": format!("AWSDynamoDB/{EXPORT_ID}/manifest-files.json"),
    });
    std::fs::write(
        folder.join("manifest-summary.json"),
        serde_json::to_vec_pretty(&summary)?,
    )?;
    Ok(GeneratedExport {
        folder: folder.to_path_buf(),
        items: spec.items,
        bytes_gzip: bytes,
    })
}

fn write_data_file(
    path: &Path,
    index: usize,
    count: u64,
    spec: &ExportSpec,
) -> std::io::Result<()> {
    let mut rng =
        SmallRng::seed_from_u64(spec.seed.wrapping_mul(1_000_003).wrapping_add(index as u64));
    let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut out = BufWriter::with_capacity(1 << 20, GzEncoder::new(file, Compression::fast()));
    for n in 0..count {
        let item = search_item(&mut rng, spec.date, index, n);
        serde_json::to_writer(&mut out, &json!({ "Item": item }))?;
        out.write_all(b"\n")?;
    }
    out.into_inner()
        .map_err(|e| e.into_error())?
        .finish()?
        .flush()
}

/// One search query as the catalogue's backend stores it.
pub fn search_item(rng: &mut impl Rng, date: NaiveDate, file: usize, n: u64) -> serde_json::Value {
    let seconds = rng.random_range(0..86_400u32);
    let mut item = serde_json::Map::new();
    item.insert(
        "query_id".into(),
        json!({ "S": format!("q{}-{file:02}-{n:08}", date.format("%Y%m%d")) }),
    );
    item.insert(
        "query_date".into(),
        json!({ "S": format!("{date}T{:02}:{:02}:{:02}Z", seconds / 3600, seconds / 60 % 60, seconds % 60) }),
    );
    item.insert(
        "user_id".into(),
        json!({ "S": format!("u{:06}", skewed(rng, 50_000) + 1) }),
    );
    item.insert(
        "device".into(),
        json!({ "S": DEVICES[skewed(rng, DEVICES.len())] }),
    );
    item.insert(
        "result_count".into(),
        json!({ "N": rng.random_range(0..500u32).to_string() }),
    );

    let roll: f64 = rng.random();
    if roll < 0.93 {
        let libs = if roll < 0.03 {
            0
        } else {
            rng.random_range(1..=3)
        };
        let chosen: Vec<_> = (0..libs)
            .map(|_| json!({ "S": LIBRARIES[skewed(rng, LIBRARIES.len())] }))
            .collect();
        item.insert("selected_lib".into(), json!({ "L": chosen }));
    }
    let roll: f64 = rng.random();
    if roll < 0.92 {
        let count = rng.random_range(1..=11);
        let isbns: Vec<String> = (0..count).map(|_| isbn13(rng, 20_000)).collect();
        // Older writers stored the list as a string set, newer ones as a list: both occur.
        if rng.random_bool(0.5) {
            let mut set = isbns;
            set.sort();
            set.dedup();
            item.insert("isbn13_list".into(), json!({ "SS": set }));
        } else {
            item.insert(
                "isbn13_list".into(),
                json!({ "L": isbns.iter().map(|i| json!({ "S": i })).collect::<Vec<_>>() }),
            );
        }
    } else if roll < 0.96 {
        item.insert("isbn13_list".into(), json!({ "L": [] }));
    }
    let terms = rng.random_range(1..=3);
    let searches: Vec<_> = (0..terms)
        .map(|_| json!({ "S": KEYWORDS[skewed(rng, KEYWORDS.len())] }))
        .collect();
    item.insert("user_search".into(), json!({ "L": searches }));
    if rng.random_bool(0.3) {
        item.insert(
            "filters".into(),
            json!({ "M": {
                "format": { "S": if rng.random_bool(0.5) { "ebook" } else { "print" } },
                "available_only": { "BOOL": rng.random_bool(0.5) },
            }}),
        );
    }
    serde_json::Value::Object(item)
}
