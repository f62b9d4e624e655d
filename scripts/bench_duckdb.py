"""DuckDB on the benchmark export: read_json -> unnest -> COPY TO parquet, one file per table,
the same tables daybook writes. Prints wall time and peak RSS for the comparison."""
import os
import resource
import shutil
import sys
import time

import duckdb

export, out = sys.argv[1], sys.argv[2]
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
files = os.path.join(export, "data", "*.json.gz")
started = time.time()
con = duckdb.connect()
con.execute(
    f"""CREATE TEMP TABLE items AS SELECT Item FROM read_json('{files}', format='newline_delimited',
        columns={{'Item': 'STRUCT(query_id STRUCT(S VARCHAR), query_date STRUCT(S VARCHAR),
        user_id STRUCT(S VARCHAR), device STRUCT(S VARCHAR), result_count STRUCT(N VARCHAR),
        selected_lib STRUCT(L STRUCT(S VARCHAR)[]), isbn13_list STRUCT(L STRUCT(S VARCHAR)[], SS VARCHAR[]),
        user_search STRUCT(L STRUCT(S VARCHAR)[]), filters JSON)'}})"""
)
con.execute(
    f"""COPY (SELECT Item.query_id.S AS query_id, Item.query_date.S AS query_date, Item.user_id.S AS user_id,
        Item.device.S AS device, CAST(Item.result_count.N AS BIGINT) AS result_count, Item.filters AS filters
        FROM items) TO '{out}/items.parquet' (FORMAT parquet, COMPRESSION snappy)"""
)
for name, expr in [
    ("selected_lib", "list_transform(Item.selected_lib.L, lambda x: x.S)"),
    ("user_search", "list_transform(Item.user_search.L, lambda x: x.S)"),
    ("isbn13_list", "coalesce(Item.isbn13_list.SS, list_transform(Item.isbn13_list.L, lambda x: x.S))"),
]:
    con.execute(
        f"""COPY (SELECT query_id, generate_subscripts(v, 1) - 1 AS pos, unnest(v) AS value
            FROM (SELECT Item.query_id.S AS query_id, {expr} AS v FROM items))
            TO '{out}/{name}.parquet' (FORMAT parquet, COMPRESSION snappy)"""
    )
seconds = time.time() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"duckdb {duckdb.__version__}: wall time {seconds:.2f} s, peak RSS {peak:.0f} MiB")
