"""Runs one SQL query with DuckDB over a research zone, each dataset a view named after
it (Hive partitions included), and prints the rows as comma-separated values.

usage: query.py ZONE SQL
"""

import os
import sys

import duckdb


def main(zone, sql):
    con = duckdb.connect()
    for name in sorted(os.listdir(zone)):
        if not name.startswith(("_", ".")):
            con.execute(
                f"create view {name} as select * from read_parquet('{zone}/{name}/**/*.parquet', hive_partitioning = 1)"
            )
    for row in con.execute(sql).fetchall():
        print(",".join("" if v is None else str(v) for v in row))


if __name__ == "__main__":
    main(*sys.argv[1:])
