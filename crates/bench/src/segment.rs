//! The Segment benchmark: a day of about a million ~1 KB events in hourly batches.

use anyhow::Context;
use daybook_core::lake::PartitionLayout;
use daybook_core::segment::{
    DaySelection, SegmentConfig, SegmentFile, batch_time_of_key, export_segment_files,
};
use daybook_generate::segment::{SegmentSpec, write_segment_logs};
use std::path::Path;
use std::time::Instant;

fn date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("a valid date")
}

pub fn generate(dir: &Path, events: u64) -> anyhow::Result<()> {
    let marker = dir.join("events.txt");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(&events.to_string()) {
        println!(
            "reusing the Segment files in {} ({events} events)",
            dir.display()
        );
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(dir);
    let started = Instant::now();
    let mut spec = SegmentSpec::new(events, date());
    spec.files_per_batch = 2;
    let written = write_segment_logs(dir, &spec)
        .with_context(|| format!("writing Segment files to {}", dir.display()))?;
    std::fs::write(&marker, events.to_string())?;
    println!(
        "generated {events} events in {} files, {:.0} MB of JSON, {:.0} MB gzip, in {:.1}s",
        written.files.len(),
        written.bytes_json as f64 / 1e6,
        written.bytes_gzip as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn export(dir: &Path, out: &Path, workers: Option<usize>) -> anyhow::Result<()> {
    let workers = super::worker_count(workers);
    let _ = std::fs::remove_dir_all(out);
    let started = Instant::now();
    let mut files = Vec::new();
    collect_gz(dir, dir, &mut files)?;
    files.sort_by(|a: &SegmentFile, b| a.label.cmp(&b.label));
    let config = SegmentConfig::new("segment-logs");
    let layout = PartitionLayout::folder(date(), "bench");
    let outcome = export_segment_files(&config, &files, DaySelection::All, &layout, out, workers)?;
    let seconds = started.elapsed().as_secs_f64();
    let gzip: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum();
    let rows: u64 = outcome.staged.tables.iter().map(|t| t.rows).sum();
    println!(
        "segment: {} events, {} files, {workers} workers",
        outcome.lines,
        files.len()
    );
    println!("  wall time      {seconds:.2} s");
    println!("  events/s       {:.0}", outcome.lines as f64 / seconds);
    println!(
        "  output rows/s  {:.0} ({rows} rows in {} tables)",
        rows as f64 / seconds,
        outcome.staged.tables.len()
    );
    println!(
        "  input MB/s     {:.0} ({:.0} MB of JSON, {:.0} MB gzip)",
        outcome.bytes as f64 / 1e6 / seconds,
        outcome.bytes as f64 / 1e6,
        gzip as f64 / 1e6
    );
    println!(
        "  peak RSS       {:.0} MiB",
        super::peak_rss_kib()? as f64 / 1024.0
    );
    println!(
        "  duplicates     {}, quarantined {}",
        outcome.duplicates, outcome.quarantined
    );
    Ok(())
}

fn collect_gz(root: &Path, dir: &Path, out: &mut Vec<SegmentFile>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_gz(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "gz") {
            let key = path.strip_prefix(root)?.to_string_lossy().to_string();
            out.push(SegmentFile {
                batch_time: batch_time_of_key(&key),
                label: key,
                path,
            });
        }
    }
    Ok(())
}
