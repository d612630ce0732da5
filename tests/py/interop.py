"""Reads a research zone with readers msma did not write (pyarrow, DuckDB) and checks it
against the identified input, independently of the Rust code:

- both readers see every dataset, Hive partitions included, with the same row counts;
- rows per dataset equal the valid events of that type in the input;
- every pseudonym is recomputed here from the key file (HKDF + HMAC with Python's hmac)
  and the input, and the sets match exactly;
- no identifying value of the input appears in any column of any dataset;
- the Parquet metadata names the study, key id and schema version, never the key.

usage: interop.py ZONE INPUT KEYFILE STUDY DEADLETTERS
"""

import hashlib
import hmac
import json
import os
import sys

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq


def hkdf_sha256(ikm: bytes, info: bytes) -> bytes:
    prk = hmac.new(b"\0" * 32, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def main(zone, input_path, key_path, study, dead_path):
    master = bytes.fromhex(open(key_path).read().strip())
    key_id = hashlib.sha256(master).hexdigest()[:16]
    skey = hkdf_sha256(master, b"msma/v1/study/" + study.encode())
    mac = lambda msg: hmac.new(skey, msg.encode(), hashlib.sha256).hexdigest()

    rejected_lines = set()
    for rec in map(json.loads, open(dead_path)):
        rejected_lines.add(rec["line"])

    expected_rows = {}
    expected = {"patient": {}, "micro": {}, "professional": set(), "meeting": set()}
    secrets = set()
    with open(input_path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if n in rejected_lines:
                continue
            ev = json.loads(raw)
            t = ev["event_type"]
            expected_rows[t] = expected_rows.get(t, 0) + 1
            net, p, pl = ev["network_id"], ev["patient"], ev["payload"]
            local = p["local_id"].strip(" \t")
            expected["patient"].setdefault(t, set()).add(mac(f"{net}:{local}"))
            expected["micro"].setdefault(t, set()).add(mac(f"microstructure:{net}:{ev['microstructure_id']}"))
            if t == "consultation":
                expected["professional"].add(mac(f"professional:{net}:{pl['professional_id']}"))
                secrets.add(pl["professional_id"])
            if t == "synthesis_meeting":
                expected["meeting"].add(mac(f"meeting:{net}:{pl['meeting_id']}"))
                secrets.add(pl["meeting_id"])
            secrets.update([ev["event_id"], ev["microstructure_id"], p["local_id"], p["local_id"].strip(" \t")])
            for k in ("ins", "last_name", "first_name", "birth_date", "phone", "email", "postcode"):
                if p.get(k):
                    secrets.add(p[k])
    assert expected_rows, "no valid event in the input"

    con = duckdb.connect()
    found_datasets = sorted(d for d in os.listdir(zone) if not d.startswith(("_", ".")))
    assert found_datasets == sorted(expected_rows), (found_datasets, sorted(expected_rows))
    for name, rows in sorted(expected_rows.items()):
        path = os.path.join(zone, name)
        table = ds.dataset(path, format="parquet", partitioning="hive").to_table()
        assert table.num_rows == rows, (name, table.num_rows, rows)
        duck = con.execute(
            f"select count(*), count(distinct network_id), min(year) from read_parquet('{path}/**/*.parquet', hive_partitioning = 1)"
        ).fetchone()
        assert duck[0] == rows, (name, duck, rows)
        assert "network_id" in table.column_names and "year" in table.column_names

        got_patients = set(table.column("patient_pseudonym").to_pylist())
        assert got_patients == expected["patient"][name], f"{name}: patient pseudonyms differ"
        got_micro = set(table.column("microstructure_pseudonym").to_pylist())
        assert got_micro == expected["micro"][name], f"{name}: microstructure pseudonyms differ"
        if name == "consultation":
            assert set(table.column("professional_pseudonym").to_pylist()) == expected["professional"]
        if name == "synthesis_meeting":
            assert set(table.column("meeting_pseudonym").to_pylist()) == expected["meeting"]

        for col in table.column_names:
            for value in table.column(col).to_pylist():
                values = value if isinstance(value, list) else [value]
                for v in values:
                    if isinstance(v, str) and v in secrets:
                        raise AssertionError(f"{name}.{col} holds an input identifier")

        for frag in ds.dataset(path, format="parquet", partitioning="hive").get_fragments():
            meta = pq.ParquetFile(frag.path).metadata
            kv = {k.decode(): v.decode() for k, v in (meta.metadata or {}).items()}
            assert kv.get("msma.study_id") == study and kv.get("msma.key_id") == key_id, kv
            assert kv.get("msma.schema_version") == "1" and kv.get("msma.dataset") == name, kv
            blob = json.dumps(kv)
            assert master.hex() not in blob and skey.hex() not in blob, "key material in metadata"
            col_types = {meta.schema.column(i).name: meta.schema.column(i).physical_type for i in range(meta.num_columns)}
            # zstd, or Snappy for files that start with fewer than 1,024 rows (crates/sink/src/part.rs).
            codec = "ZSTD" if meta.row_group(0).num_rows >= 1024 else "SNAPPY"
            assert meta.row_group(0).column(0).compression == codec, f"{codec} expected"
            assert meta.row_group(0).column(0).statistics is not None, "statistics expected"
            if "occurred_on" in col_types:
                assert meta.schema.column(list(col_types).index("occurred_on")).logical_type.type == "DATE"

    inclusion = ds.dataset(os.path.join(zone, "patient_inclusion"), format="parquet", partitioning="hive").to_table()
    sexes = set(inclusion.column("sex").to_pylist())
    assert sexes <= {"F", "M", "U", None}, sexes
    print(f"interop ok: {sum(expected_rows.values())} rows in {len(expected_rows)} datasets, "
          f"{len(secrets)} identifying values absent, pseudonyms recomputed")


if __name__ == "__main__":
    main(*sys.argv[1:])
