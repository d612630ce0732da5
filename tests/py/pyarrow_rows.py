"""Checks with pyarrow's dataset reader (Hive partitioning, as a researcher reads the
folders) that two research zones hold the same multiset of rows in every dataset.

usage: pyarrow_rows.py ZONE_A ZONE_B
"""

import os
import sys
from collections import Counter

import pyarrow.dataset as ds


def datasets(zone):
    return sorted(d for d in os.listdir(zone) if not d.startswith(("_", ".")))


def rows(zone, name):
    table = ds.dataset(os.path.join(zone, name), format="parquet", partitioning="hive").to_table()
    columns = sorted(table.column_names)
    return Counter(tuple(repr(r[c]) for c in columns) for r in table.to_pylist())


def main(a, b):
    assert datasets(a) == datasets(b), (datasets(a), datasets(b))
    total = 0
    for name in datasets(a):
        ra, rb = rows(a, name), rows(b, name)
        assert ra == rb, f"{name}: {sum(ra.values())} vs {sum(rb.values())} rows, {sum((ra - rb).values())} only in A, {sum((rb - ra).values())} only in B"
        total += sum(ra.values())
    print(f"same rows: {total} rows in {len(datasets(a))} datasets")


if __name__ == "__main__":
    main(*sys.argv[1:])
