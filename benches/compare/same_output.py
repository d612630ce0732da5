#!/usr/bin/env python3
"""Proves with DuckDB that another tool wrote the same datasets as msma: the same dataset
folders, in each the same columns with the same types, the same multiset of rows (EXCEPT
ALL both ways), and zstd-compressed Parquet (msma writes Snappy into files that begin
with fewer than 1,024 rows). Hive partition columns (network_id, year) are compared when
both sides have them, left out when the other side has none.

usage: same_output.py MSMA_ZONE OTHER_OUT_DIR
Prints one line starting "same output:" and exits 0, or says what differs and exits 1.
"""

import glob
import os
import sys

import duckdb

PARTITIONS = ("network_id", "year")
SMALL_FILE_ROWS = 1024


def datasets(root):
    """Dataset folders holding at least one Parquet file (msma's _msma/ and hidden
    folders are not datasets)."""
    return sorted(
        d
        for d in os.listdir(root)
        if not d.startswith(("_", "."))
        and glob.glob(os.path.join(root, d, "**", "*.parquet"), recursive=True)
    )


def main(zone, other):
    con = duckdb.connect()
    problems = []
    found = (datasets(zone), datasets(other))
    if not found[0]:
        problems.append(f"no dataset in {zone}")
    if found[0] != found[1]:
        problems.append(f"datasets differ: msma {found[0]}, other {found[1]}")
    total, codecs, flat = 0, set(), False
    for name in sorted(set(found[0]) & set(found[1])):
        files = [os.path.join(root, name, "**", "*.parquet") for root in (zone, other)]
        rel = [f"read_parquet('{f}', hive_partitioning = true)" for f in files]
        cols = [{row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {r}").fetchall()} for r in rel]
        if not any(p in cols[1] for p in PARTITIONS):
            cols[0] = {c: t for c, t in cols[0].items() if c not in PARTITIONS}
            flat = True
        if cols[0] != cols[1]:
            differ = sorted(set(cols[0].items()) ^ set(cols[1].items()))
            problems.append(f"{name}: columns or types differ: {differ}")
            continue
        select = ", ".join(f'"{c}"' for c in cols[0])
        a, b = (f"(SELECT {select} FROM {r})" for r in rel)
        n_a, n_b = (con.execute(f"SELECT count(*) FROM {x}").fetchone()[0] for x in (a, b))
        only_a = con.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchone()[0]
        only_b = con.execute(f"SELECT count(*) FROM ({b} EXCEPT ALL {a})").fetchone()[0]
        if (n_a, only_a, only_b) != (n_b, 0, 0):
            problems.append(f"{name}: msma {n_a} rows, other {n_b}; {only_a} only in msma, {only_b} only in other")
        total += n_a
        for f in files:
            chunks = con.execute(
                f"SELECT file_name, row_group_id, row_group_num_rows, compression FROM parquet_metadata('{f}')"
            ).fetchall()
            first_rows = {name: rows for (name, group, rows, _) in chunks if group == 0}
            # msma writes Snappy into files that begin with fewer than 1,024 rows.
            codecs |= {c for (name, _, _, c) in chunks if not (c == "SNAPPY" and first_rows[name] < SMALL_FILE_ROWS)}
    if codecs - {"ZSTD"}:
        problems.append(f"compression: {sorted(codecs)}, not only ZSTD (and Snappy in small files)")
    if problems:
        print("different output:", *problems, sep="\n  ")
        sys.exit(1)
    checked = "columns, types, rows and zstd" if flat else "columns, types, rows, Hive partitions and zstd"
    print(f"same output: {total} rows in {len(found[0])} datasets ({checked} checked)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
