"""Whether any byte of a zone holds a value: every file's raw bytes, and every cell of
every Parquet file (decoded with pyarrow, so compressed pages are looked into too).
Prints "absent from N files" or "found in <file>", one line per file holding it."""

import pathlib
import sys

import pyarrow.parquet as pq

zone, value = pathlib.Path(sys.argv[1]), sys.argv[2]
found, files = [], 0
for path in sorted(p for p in zone.rglob("*") if p.is_file()):
    files += 1
    rel = path.relative_to(zone).as_posix()
    if value.encode() in path.read_bytes():
        found.append(rel)
        continue
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        if any(value in (col.to_pylist()) for col in table.columns):
            found.append(rel)
for rel in found:
    print(f"found in {rel}")
if not found:
    print(f"absent from {files} files")
