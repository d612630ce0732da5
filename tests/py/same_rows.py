"""Checks with DuckDB that two research zones hold the same multiset of rows in every
dataset (EXCEPT ALL both ways), Hive partition columns included.

usage: same_rows.py ZONE_A ZONE_B
"""

import os
import sys

import duckdb


def datasets(zone):
    return sorted(d for d in os.listdir(zone) if not d.startswith(("_", ".")))


def main(a, b):
    assert datasets(a) == datasets(b), (datasets(a), datasets(b))
    con = duckdb.connect()
    total = 0
    for name in datasets(a):
        ra = f"read_parquet('{a}/{name}/**/*.parquet', hive_partitioning = 1)"
        rb = f"read_parquet('{b}/{name}/**/*.parquet', hive_partitioning = 1)"
        n_a = con.execute(f"select count(*) from {ra}").fetchone()[0]
        n_b = con.execute(f"select count(*) from {rb}").fetchone()[0]
        only_a = con.execute(f"select count(*) from (select * from {ra} except all select * from {rb})").fetchone()[0]
        only_b = con.execute(f"select count(*) from (select * from {rb} except all select * from {ra})").fetchone()[0]
        assert (n_a, only_a, only_b) == (n_b, 0, 0), f"{name}: {n_a} vs {n_b} rows, {only_a} only in A, {only_b} only in B"
        total += n_a
    print(f"same rows: {total} rows in {len(datasets(a))} datasets")


if __name__ == "__main__":
    main(*sys.argv[1:])
