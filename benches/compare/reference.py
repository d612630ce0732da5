#!/usr/bin/env python3
"""The script a data engineer would write instead of `msma ingest`: plain Python
(json, hmac, re, datetime) and pyarrow. Same datasets, columns, types and values as
msma (default policy): Hive-partitioned `<event_type>/network_id=<N>/year=<Y>/`, zstd
Parquet.

usage: reference.py INPUT.ndjson OUT_DIR --key-file KEYFILE --study STUDY [--dead-letter FILE]

Validation, from the JSON Schemas under schemas/ (see contract.py): the line is UTF-8 and
one JSON object; the envelope has exactly its eight keys; event_type is known and
schema_version is 1 (or 1.0); event_id, network_id, microstructure_id and occurred_at
match their patterns and occurred_at is a real date and time; patient is an object with
known keys only, a valid local_id, and each optional identity field null or matching its
pattern / length; the payload is an object with known keys only, its required fields
present, codes in their lists, code lists non-empty where required and without
duplicates, booleans, integers (1.0 counts) within bounds, identifiers of printable ASCII.
Not checked, unlike msma: duplicate keys in an object (json.loads keeps the last) and
lone UTF-16 surrogates in escaped strings. A rejected line is counted and written, with
its reason, to --dead-letter if given.

Memory: rows are buffered per dataset and written every FLUSH_ROWS rows of that dataset
(one row group per Hive partition), the files staying open until the end.
"""

import argparse
import datetime
import hmac
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict

import pyarrow as pa
import pyarrow.parquet as pq

import contract

FLUSH_ROWS = 100_000
PAYLOADS, ENVELOPE = contract.load()
ENVELOPE_KEYS = frozenset(ENVELOPE)
PATIENT = ENVELOPE["patient"]["properties"]
PATIENT_KEYS = frozenset(PATIENT)
FIELD_NAMES = {t: frozenset(f.name for f in fs) for t, fs in PAYLOADS.items()}


def pattern(spec):
    return re.compile(spec["pattern"]).fullmatch


EVENT_ID = pattern(ENVELOPE["event_id"])
NETWORK_ID = pattern(ENVELOPE["network_id"])
TOKEN = pattern(ENVELOPE["microstructure_id"])
OCCURRED_AT = pattern(ENVELOPE["occurred_at"])
LOCAL_ID = pattern(PATIENT["local_id"])
# Optional identity fields: (pattern or None, max length or None, min length).
IDENTITY = {
    k: (pattern(s) if "pattern" in s else None, s.get("maxLength"), s.get("minLength", 0))
    for k, s in PATIENT.items()
    if k not in ("local_id", "sex")
}
SEXES = frozenset(c for c in PATIENT["sex"]["enum"] if c is not None)


class Reject(Exception):
    pass


def integer(v):
    """A JSON Schema integer: 3 and 3.0, not true."""
    if type(v) is int:
        return v
    if type(v) is float and v.is_integer():
        return int(v)
    return None


def real_date(s):
    try:
        return datetime.date(int(s[:4]), int(s[5:7]), int(s[8:10]))
    except ValueError:
        return None


def check(ev):
    """The event's type, local date and birth date, or Reject."""
    if type(ev) is not dict or ev.keys() != ENVELOPE_KEYS:
        raise Reject("envelope: expected exactly the keys " + ", ".join(sorted(ENVELOPE_KEYS)))
    event_type = ev["event_type"]
    if type(event_type) is not str or event_type not in PAYLOADS:
        raise Reject("unknown event_type")
    if integer(ev["schema_version"]) != 1:
        raise Reject("unknown schema_version")
    for name, ok in (("event_id", EVENT_ID), ("network_id", NETWORK_ID), ("microstructure_id", TOKEN)):
        if type(ev[name]) is not str or not ok(ev[name]):
            raise Reject(f"{name}: does not match its pattern")
    at = ev["occurred_at"]
    day = type(at) is str and OCCURRED_AT(at) and real_date(at)
    # Time of day and offset in range (the pattern only says digits); seconds 00-59.
    if not day or at[11:13] > "23" or at[14:16] > "59" or at[17:19] > "59":
        raise Reject("occurred_at: expected an RFC 3339 date-time")
    if at[-1] != "Z" and (at[-5:-3] > "23" or at[-2:] > "59"):
        raise Reject("occurred_at: offset out of range")

    p = ev["patient"]
    if type(p) is not dict or not p.keys() <= PATIENT_KEYS:
        raise Reject("patient: expected an object with known keys")
    lid = p.get("local_id")
    if type(lid) is not str or len(lid) > 64 or not LOCAL_ID(lid):
        raise Reject("patient.local_id: does not match its pattern")
    if p.get("sex") is not None and (type(p["sex"]) is not str or p["sex"] not in SEXES):
        raise Reject("patient.sex: unknown code")
    for k, (ok, longest, shortest) in IDENTITY.items():
        v = p.get(k)
        if v is None:
            continue
        if type(v) is not str or (ok and not ok(v)) or len(v) < shortest or (longest and len(v) > longest):
            raise Reject(f"patient.{k}: invalid")
    birth = None
    if p.get("birth_date") is not None:
        birth = real_date(p["birth_date"])
        if birth is None:
            raise Reject("patient.birth_date: not a real date")

    payload = ev["payload"]
    if type(payload) is not dict or not payload.keys() <= FIELD_NAMES[event_type]:
        raise Reject("payload: expected an object with known keys")
    return event_type, day, birth


def cell(f, payload):
    """A payload field's value, checked (before pseudonymisation)."""
    if f.name not in payload:
        if f.required:
            raise Reject(f"payload.{f.name}: missing")
        return None
    v = payload[f.name]
    if v is None:
        if f.nullable:
            return None
        raise Reject(f"payload.{f.name}: null")
    if f.kind == "code":
        if type(v) is str and v in f.codes:
            return v
    elif f.kind == "bool":
        if type(v) is bool:
            return v
    elif f.kind == "int":
        i = integer(v)
        if i is not None and f.lo <= i <= f.hi:
            return i
    elif f.kind == "codes":
        if (
            type(v) is list
            and len(v) >= f.min_items
            and all(type(c) is str and c in f.codes for c in v)
            and len(set(v)) == len(v)
        ):
            return v
    elif f.kind == "token":
        if type(v) is str and TOKEN(v):
            return v
    raise Reject(f"payload.{f.name}: invalid")


def arrow_schema(event_type):
    types = {
        "string": pa.string(),
        "date32": pa.date32(),
        "int16": pa.int16(),
        "int64": pa.int64(),
        "bool": pa.bool_(),
        "list<string>": pa.list_(pa.string()),
    }
    nullable = {name for name, _ in contract.DEMOGRAPHICS}
    nullable |= {f.column for f in PAYLOADS[event_type] if f.nullable}
    return pa.schema(
        [pa.field(name, types[t], nullable=name in nullable) for name, t in contract.columns(event_type, PAYLOADS)]
    )


class Datasets:
    """Rows buffered per dataset and partition; one open Parquet file per partition."""

    def __init__(self, out):
        self.out = out
        self.schemas = {t: arrow_schema(t) for t in PAYLOADS}
        self.rows = {t: defaultdict(list) for t in PAYLOADS}
        self.count = Counter()
        self.writers = {}

    def add(self, event_type, network, year, row):
        self.rows[event_type][(network, year)].append(row)
        self.count[event_type] += 1
        if self.count[event_type] % FLUSH_ROWS == 0:
            self.flush(event_type)

    def flush(self, event_type):
        schema = self.schemas[event_type]
        for (network, year), rows in self.rows[event_type].items():
            key = (event_type, network, year)
            if key not in self.writers:
                folder = os.path.join(self.out, event_type, f"network_id={network}", f"year={year}")
                os.makedirs(folder, exist_ok=True)
                path = os.path.join(folder, "part-0.parquet")
                self.writers[key] = pq.ParquetWriter(path, schema, compression="zstd", compression_level=3)
            arrays = [pa.array(col, type=f.type) for col, f in zip(zip(*rows), schema)]
            self.writers[key].write_table(pa.Table.from_arrays(arrays, schema=schema))
        self.rows[event_type].clear()

    def close(self):
        for t in PAYLOADS:
            self.flush(t)
        for w in self.writers.values():
            w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("out")
    ap.add_argument("--key-file", required=True)
    ap.add_argument("--study", required=True)
    ap.add_argument("--dead-letter")
    a = ap.parse_args()

    key = contract.study_key(a.key_file, a.study)
    if os.path.exists(a.out) and os.listdir(a.out):
        sys.exit(f"{a.out} is not empty")

    def pseudonym(message):
        return hmac.digest(key, message.encode(), "sha256").hex()

    started = time.monotonic()
    datasets = Datasets(a.out)
    dead = open(a.dead_letter, "w") if a.dead_letter else None
    read, rejected = 0, Counter()
    with open(a.input, "rb") as lines:
        for line in lines:
            read += 1
            try:
                try:
                    ev = json.loads(line.decode("utf-8"))
                except (ValueError, RecursionError) as e:  # UnicodeDecodeError, JSONDecodeError, deep nesting
                    raise Reject(f"not UTF-8 JSON: {e}") from None
                event_type, day, birth = check(ev)
                payload = ev["payload"]
                values = [cell(f, payload) for f in PAYLOADS[event_type]]
            except Reject as why:
                rejected[str(why).split(":")[0]] += 1
                if dead:
                    dead.write(json.dumps({"line": read, "reason": str(why), "raw": line.decode("utf-8", "replace")}) + "\n")
                continue
            network = ev["network_id"]
            p = ev["patient"]
            local_id = p["local_id"].strip(" \t")  # spaces and tabs around are not part of the id
            row = [
                pseudonym(f"{network}:{local_id}"),
                pseudonym(f"microstructure:{network}:{ev['microstructure_id']}"),
                day.replace(day=1),  # date_granularity = month
            ]
            if event_type == "patient_inclusion":
                age = None
                if birth is not None:
                    age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
                    age = min(age, contract.AGE_TOP_CODE) if 0 <= age <= 120 else None
                dep = contract.departement(p.get("postcode"))
                row += [
                    p.get("sex"),
                    age,
                    None if age is None else contract.age_band(age),
                    dep,
                    contract.REGIONS.get(dep),
                ]
            for f, v in zip(PAYLOADS[event_type], values):
                if f.kind == "token":
                    v = pseudonym(f"{f.domain}:{network}:{v}")
                row.append(v)
            datasets.add(event_type, network, day.year, row)
    datasets.close()
    if dead:
        dead.close()
    secs = time.monotonic() - started
    written = sum(datasets.count.values())
    print(
        f"read {read} lines in {secs:.2f} s ({read / max(secs, 1e-9):.0f} lines/s): "
        f"{written} written, {sum(rejected.values())} rejected {dict(rejected) or ''}"
    )


if __name__ == "__main__":
    main()
