#!/usr/bin/env python3
"""The same job in DuckDB SQL: read_ndjson_objects -> checks and generalisation in SQL -> COPY to
zstd Parquet, Hive-partitioned like msma (`<event_type>/network_id=<N>/year=<Y>/`).

usage: duckdb_ingest.py INPUT.ndjson OUT_DIR --key-file KEYFILE --study STUDY [--threads N]
                         [--no-validation]

DuckDB has no HMAC: HMAC-SHA256(K, m) = SHA256((K xor opad) || SHA256((K xor ipad) || m))
for a 32-byte key zero-padded to the 64-byte block, written with DuckDB's sha256() on
BLOBs; the two padded keys are computed here (Python) and passed as constants.

Each line is read once (read_ndjson_objects), its keys listed with json_keys() and its
fields given declared types with json_transform(), into a temporary table; then each
dataset is one COPY of its events. Validation is SQL over that table (VALID_ENVELOPE,
valid_payload): no unknown or missing envelope keys, no unknown patient or payload keys,
event_type known, schema_version 1, ids, dates and identity fields matching their
patterns, dates real, required payload fields present, codes in their lists, code lists
non-empty where required and without duplicates, integers whole and within bounds.
Not checked, unlike msma: JSON types, because json_transform casts silently ("30" is
taken for 30, "yes" and 1 for true, a number for a string), and duplicate keys inside
the patient or the payload. Malformed lines come out as NULLs (ignore_errors): rejected.

--no-validation: the same job with none of these checks, as fast as DuckDB does it:
read_json with the declared types of the fields the datasets need, then a COPY of each
event type's lines. For valid events it writes the same rows (same_output.py proves it
on generated events). Invalid ones are written as they come, where msma rejects them:
unknown keys are ignored, codes outside their lists, identifiers and dates not matching
their patterns, an unknown schema_version are written as they are, a missing local_id
gives a NULL pseudonym, an impossible date a NULL occurred_on; only lines without a
known event_type (malformed lines, NULLs) are left out, with no reason given, and an
integer too large for its column stops the run (CAST error).
"""

import argparse
import json
import os
import sys
import time

import duckdb

import contract

PAYLOADS, ENVELOPE = contract.load()


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def sql_list(items):
    return "[" + ", ".join(sql_str(c) for c in sorted(items)) + "]"


def sql_in(items):
    return "IN (" + ", ".join(sql_str(c) for c in sorted(items)) + ")"


def structure():
    """The shape json_transform gives an event: declared types, the payload one struct
    with the fields of every event type (their names do not clash)."""
    sql = {"code": "VARCHAR", "token": "VARCHAR", "codes": ["VARCHAR"], "bool": "BOOLEAN", "int": "DOUBLE"}
    payload = {}
    for fs in PAYLOADS.values():
        for f in fs:
            assert f.name not in payload, f"payload field {f.name} in two event types"
            payload[f.name] = sql[f.kind]
    envelope = {k: "VARCHAR" for k in ENVELOPE}
    envelope.update(schema_version="DOUBLE", patient={k: "VARCHAR" for k in PATIENT}, payload=payload)
    return json.dumps(envelope)


def ddl(shape):
    """The DuckDB type of a structure() shape."""
    if isinstance(shape, dict):
        return "STRUCT(" + ", ".join(f'"{k}" {ddl(v)}' for k, v in shape.items()) + ")"
    if isinstance(shape, list):
        return ddl(shape[0]) + "[]"
    return shape


def needed_columns():
    """read_json's columns for --no-validation: only the fields the datasets are made of."""
    shape = json.loads(structure())
    need = {k: shape[k] for k in ("event_type", "network_id", "microstructure_id", "occurred_at", "payload")}
    need["patient"] = {k: shape["patient"][k] for k in ("local_id", "sex", "birth_date", "postcode")}
    return "{" + ", ".join(f"{sql_str(k)}: {sql_str(ddl(v))}" for k, v in need.items()) + "}"


# What the datasets are made of, from one line's fields.
FIELDS = """event_type, network_id, microstructure_id,
               try_cast(occurred_at[1:10] AS DATE) AS day,  -- the date in the event's own offset
               trim(patient.local_id, ' ' || chr(9)) AS local_id,
               patient.sex AS sex,
               try_cast(patient.birth_date AS DATE) AS birth,
               departement(patient.postcode) AS departement,
               payload"""


def pattern(spec):
    return sql_str(spec["pattern"])


PATIENT = ENVELOPE["patient"]["properties"]
SEXES = [c for c in PATIENT["sex"]["enum"] if c is not None]


def optional(field, check):
    return f"(patient.{field} IS NULL OR ({check}))"


VALID_ENVELOPE = f"""
    list_sort(keys) = {sql_list(ENVELOPE)} AND list_has_all({sql_list(PATIENT)}, patient_keys)
    AND event_type {sql_in(PAYLOADS)} AND schema_version = 1
    AND regexp_full_match(event_id, {pattern(ENVELOPE["event_id"])})
    AND regexp_full_match(network_id, {pattern(ENVELOPE["network_id"])})
    AND regexp_full_match(microstructure_id, {pattern(ENVELOPE["microstructure_id"])})
    AND regexp_full_match(occurred_at, {pattern(ENVELOPE["occurred_at"])})
    AND try_cast(occurred_at[1:10] AS DATE) IS NOT NULL
    AND occurred_at[12:13] <= '23' AND occurred_at[15:16] <= '59' AND occurred_at[18:19] <= '59'
    AND (occurred_at[-1:] = 'Z' OR (occurred_at[-5:-4] <= '23' AND occurred_at[-2:] <= '59'))
    AND length(patient.local_id) <= 64
    AND regexp_full_match(patient.local_id, {pattern(PATIENT["local_id"])})
    AND {optional("sex", f"patient.sex {sql_in(SEXES)}")}
    AND {optional("postcode", f"regexp_full_match(patient.postcode, {pattern(PATIENT['postcode'])})")}
    AND {optional("birth_date", f"regexp_full_match(patient.birth_date, {pattern(PATIENT['birth_date'])}) "
                                "AND try_cast(patient.birth_date AS DATE) IS NOT NULL")}
    AND {optional("ins", f"regexp_full_match(patient.ins, {pattern(PATIENT['ins'])})")}
    AND {optional("last_name", "length(patient.last_name) BETWEEN 1 AND 100")}
    AND {optional("first_name", "length(patient.first_name) BETWEEN 1 AND 100")}
    AND {optional("phone", f"regexp_full_match(patient.phone, {pattern(PATIENT['phone'])})")}
    AND {optional("email", f"length(patient.email) <= 254 "
                           f"AND regexp_full_match(patient.email, {pattern(PATIENT['email'])})")}
"""


def valid_payload(event_type):
    checks = [f"list_has_all({sql_list(f.name for f in PAYLOADS[event_type])}, payload_keys)"]
    for f in PAYLOADS[event_type]:
        v = f"payload.{f.name}"
        if f.kind == "code":
            ok = f"{v} {sql_in(f.codes)}"
        elif f.kind == "codes":
            ok = (
                f"len({v}) >= {f.min_items} AND list_has_all({sql_list(f.codes)}, {v})"
                f" AND len(list_distinct({v})) = len({v})"
            )
        elif f.kind == "int":
            ok = f"{v} = floor({v}) AND {v} BETWEEN {f.lo} AND {f.hi}"
        elif f.kind == "token":
            ok = f"regexp_full_match({v}, {sql_str(f.pattern.pattern)})"
        else:
            ok = "true"
        checks.append(f"({v} IS NULL OR {ok})" if f.nullable else f"({v} IS NOT NULL AND {ok})")
    return "\n      AND ".join(checks)


def macros(key):
    """hmac(m), departement(postcode), region(dep), age(birth, day), age_band(age)."""
    k0 = key.ljust(64, b"\0")  # HMAC pads a key shorter than the 64-byte block with zeros
    ipad = bytes(b ^ 0x36 for b in k0).hex()
    opad = bytes(b ^ 0x5C for b in k0).hex()
    regions = ", ".join(f"{sql_str(d)}: {sql_str(r) if r else 'NULL'}" for d, r in contract.REGIONS.items())
    top, width = contract.AGE_TOP_CODE, contract.AGE_BAND_YEARS
    return [
        f"CREATE MACRO hmac(m) AS sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || encode(m))))",
        # docs/PSEUDONYMISATION.md: 2A/2B in Corsica (200xx-201xx is 2A), three digits
        # overseas, else two; NULL unless a known département.
        f"""CREATE MACRO departement(pc) AS (
            SELECT CASE WHEN list_contains({sql_list(contract.REGIONS)}, d) THEN d END
            FROM (SELECT CASE WHEN NOT regexp_full_match(pc, '[0-9]{{5}}') THEN NULL
                              WHEN pc[1:2] = '20' THEN CASE WHEN pc[3:3] <= '1' THEN '2A' ELSE '2B' END
                              WHEN pc[1:2] IN ('97', '98') THEN pc[1:3]
                              ELSE pc[1:2] END AS d))""",
        f"CREATE MACRO region(dep) AS MAP {{{regions}}}[dep]",
        # Whole years on the event's date (before truncation); NULL if negative or over 120.
        """CREATE MACRO age(birth, day) AS (
            SELECT CASE WHEN y BETWEEN 0 AND 120 THEN y END
            FROM (SELECT year(day) - year(birth)
                         - CASE WHEN month(day) * 32 + day(day) < month(birth) * 32 + day(birth)
                                THEN 1 ELSE 0 END AS y))""",
        f"""CREATE MACRO age_band(a) AS CASE WHEN a >= {top} THEN '{top}+'
            ELSE (a // {width} * {width})::VARCHAR || '-'
                 || least(a // {width} * {width} + {width - 1}, {top - 1})::VARCHAR END""",
    ]


def select(event_type):
    sql_type = {"string": "VARCHAR", "int16": "SMALLINT", "int64": "BIGINT", "bool": "BOOLEAN"}
    cols = [
        "hmac(network_id || ':' || local_id) AS patient_pseudonym",
        "hmac('microstructure:' || network_id || ':' || microstructure_id) AS microstructure_pseudonym",
        "CAST(date_trunc('month', day) AS DATE) AS occurred_on",  # date_granularity = month
    ]
    if event_type == "patient_inclusion":
        cols += [
            "sex",
            f"CAST(least(age(birth, day), {contract.AGE_TOP_CODE}) AS SMALLINT) AS age_years",  # top-coded
            "age_band(age(birth, day)) AS age_band",
            "departement",
            "region(departement) AS region",
        ]
    for f in PAYLOADS[event_type]:
        v = f"payload.{f.name}"
        if f.kind == "token":
            cols.append(f"hmac('{f.domain}:' || network_id || ':' || {v}) AS {f.column}")
        elif f.kind == "codes":
            cols.append(f"{v} AS {f.column}")
        else:
            cols.append(f"CAST({v} AS {sql_type[f.arrow]}) AS {f.column}")
    return cols + ["network_id", "year(day) AS year"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("out")
    ap.add_argument("--key-file", required=True)
    ap.add_argument("--study", required=True)
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    ap.add_argument("--no-validation", dest="validate", action="store_false",
                    help="write every line with a known event_type, checking nothing")
    a = ap.parse_args()

    key = contract.study_key(a.key_file, a.study)
    if os.path.exists(a.out) and os.listdir(a.out):
        sys.exit(f"{a.out} is not empty")
    os.makedirs(a.out, exist_ok=True)
    started = time.monotonic()
    con = duckdb.connect()
    if a.threads:
        con.execute(f"SET threads = {a.threads}")
    # Row order does not matter to a dataset: lets COPY stream without reordering.
    con.execute("SET preserve_insertion_order = false")
    for m in macros(key):
        con.execute(m)
    if a.validate:
        # Every line once: its keys, whether its envelope is valid, and the fields the
        # datasets need (a malformed line comes out as NULLs: invalid).
        con.execute(
            f"""CREATE TEMP TABLE ev AS
            SELECT coalesce({VALID_ENVELOPE}, false) AS ok, {FIELDS}, payload_keys
            FROM (SELECT json_keys(json) AS keys,
                         json_keys(json, '$.patient') AS patient_keys,
                         json_keys(json, '$.payload') AS payload_keys,
                         unnest(json_transform(json, {sql_str(structure())}))
                  FROM read_ndjson_objects({sql_str(a.input)}, ignore_errors = true))"""
        )
    else:
        con.execute(
            f"""CREATE TEMP TABLE ev AS SELECT {FIELDS}
            FROM read_json({sql_str(a.input)}, format = 'newline_delimited', columns = {needed_columns()},
                           ignore_errors = true)"""
        )
    written = 0
    for t in PAYLOADS:
        valid = f"ok AND {valid_payload(t)} AND " if a.validate else ""
        query = f"SELECT {', '.join(select(t))} FROM ev WHERE {valid}event_type = '{t}'"
        row = con.execute(
            f"COPY ({query}) TO {sql_str(os.path.join(a.out, t))} "
            "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 3, PARTITION_BY (network_id, year))"
        ).fetchone()
        written += row[0] if row else 0
    read = con.execute("SELECT count(*) FROM ev").fetchone()[0]
    secs = time.monotonic() - started
    print(
        f"read {read} lines in {secs:.2f} s ({read / max(secs, 1e-9):.0f} lines/s): "
        f"{written} written, {read - written} {'rejected' if a.validate else 'left out'}"
    )


if __name__ == "__main__":
    main()
