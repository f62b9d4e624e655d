"""DuckDB on the Segment benchmark files: read_json (schema detected from the data) -> COPY TO
parquet, one file per call type. Prints wall time and peak RSS for the comparison."""
import os
import resource
import shutil
import sys
import time

import duckdb

source, out = sys.argv[1], sys.argv[2]
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
files = os.path.join(source, "segment-logs", "*", "*", "*.gz")
started = time.time()
con = duckdb.connect()
con.execute(
    f"""COPY (SELECT * FROM read_json('{files}', format='newline_delimited', union_by_name=true))
        TO '{out}' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (type))"""
)
seconds = time.time() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"duckdb {duckdb.__version__}: wall time {seconds:.2f} s, peak RSS {peak:.0f} MiB")
