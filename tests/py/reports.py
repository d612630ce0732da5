#!/usr/bin/env python3
"""Recomputes every figure of `msma report gender` and `msma report activity` with DuckDB,
from the definitions in docs/RESEARCHERS.md, and the cell-key perturbation from its
description there (record keys, perturbation table), and checks the published JSON:

- every count is DuckDB's count plus the noise of its cell key, or masked exactly when
  the count is below the threshold before or after that noise;
- every ratio, share and amount is computed from the counts as published, and masked
  when one of them is; a mean is DuckDB's, masked with the count of its group;
- no masked cell carries a value, and none shows anything but the one mark;
- a count published in several tables reads the same in all of them.

    reports.py ZONE GENDER_JSON ACTIVITY_JSON THRESHOLD FLAT_RATE [--network N] [--region R]

Prints "reports ok" and the number of figures checked.
"""

import argparse
import glob
import hashlib
import json
import os
import sys

import duckdb

DATASETS = ["patient_inclusion", "substance_assessment", "consultation", "synthesis_meeting",
            "screening", "treatment", "follow_up_end", "forfait_claim"]
ROLES = ["general_practitioner", "psychologist", "social_worker", "psychiatrist"]

args = argparse.ArgumentParser()
args.add_argument("zone")
args.add_argument("gender")
args.add_argument("activity")
args.add_argument("threshold", type=int)
args.add_argument("flat_rate", type=float)
args.add_argument("--network")
args.add_argument("--region")
a = args.parse_args()
T = a.threshold

# The cell-key method (docs/RESEARCHERS.md, "Disclosure control").
NOISE = [(-3, 2), (-2, 18), (-1, 52), (0, 112), (1, 52), (2, 18), (3, 2)]
MARK = "[c]"
M64 = (1 << 64) - 1


def record_key(network, pseudonym):
    digest = hashlib.sha256(b"msma cell key v1\0" + network.encode() + b"\0" + pseudonym.encode()).digest()
    return int.from_bytes(digest[:4], "big")


def mix(x):
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def publish(count):
    """A count (n, sum of record keys) as published, None when masked."""
    n, k = count
    if n < T:
        return None
    place = mix((((k % (1 << 32)) << 32) ^ n) & M64) >> 56
    for noise, places in NOISE:
        if place < places:
            break
        place -= places
    return n + noise if n + noise >= T else None


def plus(a, b):
    return (a[0] + b[0], a[1] + b[1])


ZERO = (0, 0)

con = duckdb.connect()
con.create_function("rkey", record_key, ["VARCHAR", "VARCHAR"], "BIGINT")
for ds in DATASETS:
    pattern = os.path.join(a.zone, ds, "*", "*", "*.parquet")
    if not glob.glob(pattern):
        continue  # a dataset without rows; the reports do not read follow_up_end or forfait_claim
    con.execute(f"CREATE VIEW {ds} AS SELECT * FROM read_parquet('{pattern}', hive_partitioning = true)")


def q(sql):
    return con.execute(sql).fetchall()


# The definitions, written again for DuckDB: the latest inclusion gives the profile (ties
# broken on the profile's columns), a patient is followed in a year with one contact of
# care in it (no-shows excepted), the age in a year is the age at inclusion plus the years since.
conditions = []
if a.network:
    conditions.append(f"c.network_id = '{a.network}'")
if a.region:
    conditions.append(f"p.region = '{a.region}'")
where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
con.execute(f"""
CREATE TEMP TABLE followed AS
WITH profile AS (
  SELECT DISTINCT ON (network_id, patient_pseudonym)
         network_id, patient_pseudonym, sex, age_years, year AS inclusion_year, region,
         main_income, professional_activity, first_reason
  FROM patient_inclusion
  ORDER BY network_id, patient_pseudonym, occurred_on DESC, sex NULLS LAST, age_years NULLS LAST,
           region NULLS LAST, main_income, professional_activity, first_reason
),
care AS (
  SELECT network_id, patient_pseudonym, year FROM patient_inclusion
  UNION SELECT network_id, patient_pseudonym, year FROM substance_assessment
  UNION SELECT network_id, patient_pseudonym, year FROM consultation WHERE NOT no_show
  UNION SELECT network_id, patient_pseudonym, year FROM synthesis_meeting
  UNION SELECT network_id, patient_pseudonym, year FROM screening
  UNION SELECT network_id, patient_pseudonym, year FROM treatment
)
SELECT c.network_id, c.patient_pseudonym, rkey(c.network_id, c.patient_pseudonym) AS rkey,
       CAST(c.year AS BIGINT) AS year, coalesce(p.sex, 'U') AS sex,
       p.age_years + (c.year - p.inclusion_year) AS age, p.region, p.main_income,
       p.professional_activity, p.first_reason
FROM care c LEFT JOIN profile p USING (network_id, patient_pseudonym)
{where}
""")

checked = 0
problems = []


def load(path):
    with open(path) as f:
        return json.load(f)


def rows_of(table):
    return {r["key"]: r for r in table["rows"]}


def check(table, row, column, expected, decimals=0):
    """The cell shows `expected` (rounded to `decimals`), or is masked when it is None."""
    global checked
    checked += 1
    cell = row["cells"][column]
    where = f"{table['id']} [{row['key']}, {table['columns'][column]}]"
    if expected is None:
        if not cell["masked"] or cell["value"] is not None or cell["display"] != MARK:
            problems.append(f"{where}: should be masked, shows {cell['display']}")
        return
    if cell["masked"]:
        problems.append(f"{where}: masked, DuckDB gives {expected}")
    # Half a unit either way: a tie (4.125) may round up or to even, both are honest.
    elif abs(cell["value"] - expected) > 10 ** -decimals / 2 + 1e-9:
        problems.append(f"{where}: msma {cell['value']}, expected {expected:.4f}")


def check_count(table, row, column, count):
    shown = publish(count)
    check(table, row, column, shown)
    return shown


def ratio(num, den, scale=1.0):
    if num is None or den is None or den == 0:
        return None
    return scale * num / den


def counts(sql):
    """{(category, sex): (n, sum of keys)} from rows of category, sex, n, keys."""
    return {(cat, sex): (n, k or 0) for cat, sex, n, k in q(sql)}


def check_sexes(table, row, f, m):
    """Women, men and both; returns the published women and men."""
    return (check_count(table, row, 0, f), check_count(table, row, 1, m), check_count(table, row, 2, plus(f, m)))


def sex_table(table, by):
    """Checks every row of a table by sex against `by` {(category, sex): count}."""
    cats = {c for c, _ in by}
    all_f, all_m = ZERO, ZERO
    for c in cats:
        all_f, all_m = plus(all_f, by.get((c, "F"), ZERO)), plus(all_m, by.get((c, "M"), ZERO))
    for row in table["rows"]:
        if row["key"] == "total":
            f, m = all_f, all_m
        else:
            cat = None if row["key"] == "unknown" else row["key"]
            f, m = by.get((cat, "F"), ZERO), by.get((cat, "M"), ZERO)
        yield row, check_sexes(table, row, f, m)
    listed = {None if r["key"] == "unknown" else r["key"] for r in table["rows"]}
    for c in cats - listed:
        if by.get((c, "F"), ZERO)[0] + by.get((c, "M"), ZERO)[0] > 0:
            problems.append(f"{table['id']}: category {c} with patients not listed")


# ---------------------------------------------------------------------------- gender
g = load(a.gender)
tables = {t["id"]: t for t in g["tables"]}
Y = g["scope"]["year"]

by_year = counts("SELECT CAST(year AS VARCHAR), sex, count(*), sum(rkey) FROM followed GROUP BY ALL")
for _ in sex_table(tables["followed_per_year"], by_year):
    pass

unknown = q(f"SELECT count(*), sum(rkey) FROM followed WHERE year = {Y} AND sex = 'U'")[0]
shown = publish((unknown[0], unknown[1] or 0))
if g["unknown_sex"] != (MARK if shown is None else str(shown)):
    problems.append(f"unknown sex: msma {g['unknown_sex']}, expected {shown}")

t = tables["sex_ratio_by_region"]
regions = counts(f"SELECT region, sex, count(*), sum(rkey) FROM followed WHERE year = {Y} GROUP BY ALL")
for row, (f, m, _) in sex_table(t, regions):
    check(t, row, 3, ratio(m, f), 2)
    check(t, row, 4, ratio(f, None if f is None or m is None else f + m, 100.0), 1)

t = tables["age_by_sex"]
ages = {sex: (n, k, kn, kk, mean) for sex, n, k, kn, kk, mean in q(f"""
  SELECT sex, count(*), sum(rkey), count(age), coalesce(sum(rkey) FILTER (WHERE age IS NOT NULL), 0), avg(age)
  FROM followed WHERE year = {Y} GROUP BY sex""")}
totals = [ZERO, ZERO]
for row in t["rows"]:
    if row["key"] == "total":
        check_count(t, row, 0, totals[0])
        check_count(t, row, 1, totals[1])
        continue
    n, k, kn, kk, mean = ages.get(row["key"], (0, 0, 0, 0, None))
    totals = [plus(totals[0], (n, k or 0)), plus(totals[1], (kn, kk))]
    check_count(t, row, 0, (n, k or 0))
    known = check_count(t, row, 1, (kn, kk))
    check(t, row, 2, mean if known is not None else None, 1)

groups = counts(f"""
  SELECT CASE WHEN age < 25 THEN '<25' WHEN age < 35 THEN '25-34' WHEN age < 45 THEN '35-44'
              WHEN age < 55 THEN '45-54' WHEN age < 65 THEN '55-64' ELSE '65+' END, sex, count(*), sum(rkey)
  FROM followed WHERE year = {Y} AND age IS NOT NULL GROUP BY ALL""")
for _ in sex_table(tables["age_groups_by_sex"], groups):
    pass

for column, tid in [("main_income", "income_by_sex"), ("professional_activity", "activity_by_sex"),
                    ("first_reason", "first_reason_by_sex")]:
    by = counts(f"SELECT {column}, sex, count(*), sum(rkey) FROM followed WHERE year = {Y} GROUP BY ALL")
    for _ in sex_table(tables[tid], by):
        pass

t = tables["origin_products_by_sex"]
origin = f"""
  (SELECT DISTINCT f.network_id, f.patient_pseudonym, f.rkey, f.sex, s.product
   FROM followed f JOIN substance_assessment s USING (network_id, patient_pseudonym)
   WHERE f.year = {Y} AND s.origin_of_care)"""
products = counts(f"SELECT product, sex, count(*), sum(rkey) FROM {origin} GROUP BY ALL")
anyp = counts(f"""SELECT 'any', sex, count(*), sum(rkey) FROM
  (SELECT DISTINCT network_id, patient_pseudonym, rkey, sex FROM {origin}) GROUP BY ALL""")
for row in t["rows"]:
    by, cat = (anyp, "any") if row["key"] == "any" else (products, row["key"])
    check_sexes(t, row, by.get((cat, "F"), ZERO), by.get((cat, "M"), ZERO))

# A count shown in several tables reads the same in all: the yearly total of women and men.
shared = {}
for tid, key in [("followed_per_year", str(Y)), ("sex_ratio_by_region", "total"), ("income_by_sex", "total"),
                 ("activity_by_sex", "total"), ("first_reason_by_sex", "total")]:
    row = rows_of(tables[tid]).get(key)
    for c in range(3):
        shared.setdefault(c, set()).add(row["cells"][c]["display"])
if any(len(v) > 1 for v in shared.values()):
    problems.append(f"the yearly count of women or men reads differently in two tables: {shared}")

# ---------------------------------------------------------------------------- activity
ac = load(a.activity)
tables = {t["id"]: t for t in ac["tables"]}
year_filter = f"AND f.year = {ac['scope']['year']}" if ac["scope"]["year"] else ""
con.create_function("mkey", record_key, ["VARCHAR", "VARCHAR"], "BIGINT")


def activity(group):
    """{(year, group): {figure: (n, keys)}} with group an SQL expression over followed f, or None for all."""
    expr = group or "'*'"
    out = {}

    def put(rows, name):
        for year, grp, n, k in rows:
            out.setdefault((str(year), grp if grp is not None else "unknown"), {})[name] = (n, k or 0)

    put(q(f"SELECT f.year, {expr}, count(*), sum(rkey) FROM followed f WHERE TRUE {year_filter} GROUP BY ALL"),
        "patients")
    for role in ROLES:
        put(q(f"""SELECT f.year, {expr}, count(*), sum(f.rkey) FROM followed f JOIN consultation c
                 USING (network_id, patient_pseudonym, year)
                 WHERE NOT c.no_show AND c.professional_role = '{role}' {year_filter} GROUP BY ALL"""), role)
    put(q(f"""SELECT year, grp, count(*), sum(mkey(network_id, meeting_pseudonym)) FROM (
               SELECT DISTINCT f.year, {expr} AS grp, m.network_id, m.meeting_pseudonym FROM followed f
               JOIN synthesis_meeting m USING (network_id, patient_pseudonym, year) WHERE TRUE {year_filter})
             GROUP BY ALL"""), "meetings")
    put(q(f"""SELECT year, grp, count(*), sum(rkey) FROM (
               SELECT DISTINCT f.year, {expr} AS grp, f.network_id, f.patient_pseudonym, f.rkey FROM followed f
               JOIN synthesis_meeting m USING (network_id, patient_pseudonym, year) WHERE TRUE {year_filter})
             GROUP BY ALL"""), "reviewed")
    put(q(f"""SELECT f.year, {expr}, count(*), sum(rkey) FROM followed f WHERE TRUE {year_filter} AND (
               EXISTS (SELECT 1 FROM consultation c WHERE c.network_id = f.network_id
                       AND c.patient_pseudonym = f.patient_pseudonym AND c.year = f.year AND NOT c.no_show
                       AND c.professional_role IN ('psychologist', 'social_worker'))
               OR EXISTS (SELECT 1 FROM synthesis_meeting m WHERE m.network_id = f.network_id
                       AND m.patient_pseudonym = f.patient_pseudonym AND m.year = f.year))
             GROUP BY ALL"""), "eligible")
    return out


def check_activity(table, figures):
    for row in table["rows"]:
        v = figures.get(tuple(row["key"].split("/")), {})
        patients = check_count(table, row, 0, v.get("patients", ZERO))
        for i, role in enumerate(ROLES):
            check(table, row, 1 + i, ratio(publish(v.get(role, ZERO)), patients), 2)
        check_count(table, row, 5, v.get("meetings", ZERO))
        check_count(table, row, 6, v.get("reviewed", ZERO))
        eligible = check_count(table, row, 7, v.get("eligible", ZERO))
        check(table, row, 8, None if eligible is None else eligible * a.flat_rate, 0)


by_network = activity("f.network_id")
by_region = activity("f.region")
totals = activity(None)
check_activity(tables["activity_by_network"], {**by_network, **totals})
check_activity(tables["activity_by_region"], {**by_region, **totals})
listed = {r["key"] for r in tables["activity_by_region"]["rows"]}
if any(f"{y}/{g}" not in listed for (y, g) in by_region):
    problems.append("activity_by_region: a region with patients is not listed")

t = tables["active_file_by_network"]
networks = t["columns"][:-1]
for row in t["rows"]:
    for c, grp in enumerate(networks + ["*"]):
        figures = (totals if grp == "*" else by_network).get((row["key"], grp), {})
        check_count(t, row, c, figures.get("patients", ZERO))

for problem in problems[:30]:
    print(problem)
if problems:
    print(f"{len(problems)} problems in {checked} figures")
    sys.exit(1)
print(f"reports ok: {checked} figures checked, "
      f"{g['suppressed']['small'] + ac['suppressed']['small']} small counts masked")
