#!/usr/bin/env python3
"""Recomputes every figure of `msma report gender` and `msma report activity` with DuckDB,
from the definitions in docs/RESEARCHERS.md, and checks disclosure control on the
published JSON:

- every published figure equals DuckDB's;
- every count below the threshold is masked, and no masked cell carries a value;
- no additive line (a row of women + men = total, a column of rows = its total row,
  the networks or regions of a year = the year's total) has exactly one masked cell;
- a count published in one table is not masked in another.

    reports.py ZONE GENDER_JSON ACTIVITY_JSON THRESHOLD FLAT_RATE [--network N] [--region R]

Prints "reports ok" and the number of figures checked.
"""

import argparse
import glob
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

con = duckdb.connect()
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
SELECT c.network_id, c.patient_pseudonym, CAST(c.year AS BIGINT) AS year, coalesce(p.sex, 'U') AS sex,
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


def compare(table, row_key, column, expected, decimals=None):
    """Checks the published cell against DuckDB's figure."""
    global checked
    rows = {r["key"]: r for r in table["rows"]}
    if row_key not in rows:
        if expected not in (0, None):
            problems.append(f"{table['id']}: row {row_key} missing (DuckDB: {expected})")
        return
    cell = rows[row_key]["cells"][column]
    checked += 1
    where = f"{table['id']} [{row_key}, {table['columns'][column]}]"
    if cell["masked"]:
        if cell["value"] is not None:
            problems.append(f"{where}: masked cell carries a value")
        return
    if expected is None:
        if cell["value"] is not None:
            problems.append(f"{where}: msma {cell['value']}, DuckDB no value")
        return
    if decimals is None:
        if isinstance(expected, int) and expected < T:
            problems.append(f"{where}: count {expected} below {T} published")
        if cell["value"] != expected:
            problems.append(f"{where}: msma {cell['value']}, DuckDB {expected}")
    elif abs(cell["value"] - round(expected, decimals)) > 10 ** -decimals / 2 + 1e-9:
        problems.append(f"{where}: msma {cell['value']}, DuckDB {expected:.4f}")


def check_lines(table, lines):
    """No line may have exactly one masked cell."""
    rows = table["rows"]
    for cells in lines:
        masked = sum(1 for (r, c) in cells if rows[r]["cells"][c]["masked"])
        if masked == 1:
            problems.append(f"{table['id']}: a line with a single masked cell {cells}")


def sex_lines(table, total_row=True):
    lines = [[(r, 0), (r, 1), (r, 2)] for r in range(len(table["rows"]))]
    if total_row:
        n = len(table["rows"]) - 1
        for c in range(3):
            lines.append([(r, c) for r in range(n + 1)])
    check_lines(table, lines)


def by_sex(rows):
    """{(category, sex): n} → {category: (F, M)}"""
    out = {}
    for cat, sex, n in rows:
        f, m = out.get(cat, (0, 0))
        out[cat] = (f + n, m) if sex == "F" else (f, m + n) if sex == "M" else (f, m)
    return {k: v for k, v in out.items() if v != (0, 0)}


def compare_sexes(table, key, f, m):
    compare(table, key, 0, f)
    compare(table, key, 1, m)
    compare(table, key, 2, f + m)


# ---------------------------------------------------------------------------- gender
g = load(a.gender)
tables = {t["id"]: t for t in g["tables"]}
Y = g["scope"]["year"]

for year, (f, m) in by_sex(q("SELECT year, sex, count(*) FROM followed GROUP BY ALL")).items():
    compare_sexes(tables["followed_per_year"], str(year), f, m)
sex_lines(tables["followed_per_year"], total_row=False)

unknown = q(f"SELECT count(*) FROM followed WHERE year = {Y} AND sex = 'U'")[0][0]
expected_unknown = f"<{T}" if unknown < T else str(unknown)
if g["unknown_sex"] != expected_unknown:
    problems.append(f"unknown sex: msma {g['unknown_sex']}, DuckDB {unknown}")

t = tables["sex_ratio_by_region"]
regions = by_sex(q(f"SELECT region, sex, count(*) FROM followed WHERE year = {Y} GROUP BY ALL"))
for region, (f, m) in regions.items():
    key = region or "unknown"
    compare_sexes(t, key, f, m)
    compare(t, key, 3, m / f if f else None, 2)
    compare(t, key, 4, 100 * f / (f + m), 1)
F = sum(v[0] for v in regions.values())
M = sum(v[1] for v in regions.values())
compare_sexes(t, "total", F, M)
sex_lines(t)

t = tables["age_by_sex"]
for sex, n, known, mean in q(f"SELECT sex, count(*), count(age), avg(age) FROM followed WHERE year = {Y} GROUP BY sex"):
    if sex in ("F", "M"):
        compare(t, sex, 0, n)
        compare(t, sex, 1, known)
        compare(t, sex, 2, mean if known >= T else None, 1)
        if known < T and not t["rows"][["F", "M"].index(sex)]["cells"][2]["masked"] and mean is not None:
            problems.append(f"age_by_sex: mean over {known} patients published")

t = tables["age_groups_by_sex"]
groups = by_sex(q(f"""
  SELECT CASE WHEN age < 25 THEN '<25' WHEN age < 35 THEN '25-34' WHEN age < 45 THEN '35-44'
              WHEN age < 55 THEN '45-54' WHEN age < 65 THEN '55-64' ELSE '65+' END, sex, count(*)
  FROM followed WHERE year = {Y} AND age IS NOT NULL GROUP BY ALL"""))
for group, (f, m) in groups.items():
    compare_sexes(t, group, f, m)
sex_lines(t)

for column, tid in [("main_income", "income_by_sex"), ("professional_activity", "activity_by_sex"),
                    ("first_reason", "first_reason_by_sex")]:
    t = tables[tid]
    counts = by_sex(q(f"SELECT {column}, sex, count(*) FROM followed WHERE year = {Y} GROUP BY ALL"))
    for cat, (f, m) in counts.items():
        compare_sexes(t, cat or "unknown", f, m)
    compare_sexes(t, "total", sum(v[0] for v in counts.values()), sum(v[1] for v in counts.values()))
    sex_lines(t)

t = tables["origin_products_by_sex"]
origin = f"""
  (SELECT DISTINCT f.network_id, f.patient_pseudonym, f.sex, s.product
   FROM followed f JOIN substance_assessment s USING (network_id, patient_pseudonym)
   WHERE f.year = {Y} AND s.origin_of_care)"""
for product, (f, m) in by_sex(q(f"SELECT product, sex, count(*) FROM {origin} GROUP BY ALL")).items():
    compare_sexes(t, product, f, m)
anyp = by_sex(q(f"SELECT 'any', sex, count(DISTINCT (network_id, patient_pseudonym)) FROM {origin} GROUP BY ALL"))
compare_sexes(t, "any", *anyp.get("any", (0, 0)))
check_lines(t, [[(r, 0), (r, 1), (r, 2)] for r in range(len(t["rows"]))])

# A count shown in one table is shown in all: the yearly total of women and men.
shared = {}
for tid, key in [("followed_per_year", str(Y)), ("sex_ratio_by_region", "total"), ("income_by_sex", "total"),
                 ("activity_by_sex", "total"), ("first_reason_by_sex", "total")]:
    row = next((r for r in tables[tid]["rows"] if r["key"] == key), None)
    if row:
        for c in range(3):
            shared.setdefault(c, set()).add(bool(row["cells"][c]["masked"]))
if any(len(v) > 1 for v in shared.values()):
    problems.append("the yearly count of women or men is masked in one table and published in another")

# ---------------------------------------------------------------------------- activity
ac = load(a.activity)
tables = {t["id"]: t for t in ac["tables"]}
year_filter = f"AND f.year = {ac['scope']['year']}" if ac["scope"]["year"] else ""


def activity(group):
    """{(year, group): figures} with group an SQL expression over followed f, or None for all."""
    expr = group or "'*'"
    out = {}

    def put(rows, name):
        for year, grp, value in rows:
            out.setdefault((year, grp if grp is not None else "unknown"), {})[name] = value

    put(q(f"SELECT f.year, {expr}, count(*) FROM followed f WHERE TRUE {year_filter} GROUP BY ALL"), "patients")
    for role in ROLES:
        put(q(f"""SELECT f.year, {expr}, count(*) FROM followed f JOIN consultation c
                 USING (network_id, patient_pseudonym, year)
                 WHERE NOT c.no_show AND c.professional_role = '{role}' {year_filter} GROUP BY ALL"""), role)
    put(q(f"""SELECT f.year, {expr}, count(DISTINCT m.meeting_pseudonym) FROM followed f JOIN synthesis_meeting m
             USING (network_id, patient_pseudonym, year) WHERE TRUE {year_filter} GROUP BY ALL"""), "meetings")
    put(q(f"""SELECT f.year, {expr}, count(DISTINCT (f.network_id, f.patient_pseudonym)) FROM followed f
             JOIN synthesis_meeting m USING (network_id, patient_pseudonym, year) WHERE TRUE {year_filter}
             GROUP BY ALL"""), "reviewed")
    put(q(f"""SELECT f.year, {expr}, count(*) FROM followed f WHERE TRUE {year_filter} AND (
               EXISTS (SELECT 1 FROM consultation c WHERE c.network_id = f.network_id
                       AND c.patient_pseudonym = f.patient_pseudonym AND c.year = f.year AND NOT c.no_show
                       AND c.professional_role IN ('psychologist', 'social_worker'))
               OR EXISTS (SELECT 1 FROM synthesis_meeting m WHERE m.network_id = f.network_id
                       AND m.patient_pseudonym = f.patient_pseudonym AND m.year = f.year))
             GROUP BY ALL"""), "eligible")
    return out


def compare_activity(table, figures, additive_meetings):
    for (year, grp), v in figures.items():
        key = f"{year}/{grp}"
        n = v.get("patients", 0)
        compare(table, key, 0, n)
        for i, role in enumerate(ROLES):
            compare(table, key, 1 + i, v.get(role, 0) / n if n else None, 2)
        compare(table, key, 5, v.get("meetings", 0))
        compare(table, key, 6, v.get("reviewed", 0))
        compare(table, key, 7, v.get("eligible", 0))
        compare(table, key, 8, v.get("eligible", 0) * a.flat_rate, 0)
    rows = table["rows"]
    by_year = {}
    for i, r in enumerate(rows):
        by_year.setdefault(r["key"].split("/")[0], []).append(i)
    lines = []
    for year, idx in by_year.items():
        members = [i for i in idx if not rows[i]["total"]]
        total = next(i for i in idx if rows[i]["total"])
        for c in [0, 6, 7] + ([5] if additive_meetings else []):
            lines.append([(r, c) for r in members] + [(total, c)])
    check_lines(table, lines)


by_network = activity("f.network_id")
by_region = activity("f.region")
totals = activity(None)
compare_activity(tables["activity_by_network"], {**by_network, **totals}, True)
compare_activity(tables["activity_by_region"], {**by_region, **totals}, False)

t = tables["active_file_by_network"]
networks = t["columns"][:-1]
for (year, grp), v in {**by_network, **totals}.items():
    column = len(networks) if grp == "*" else networks.index(grp)
    compare(t, str(year), column, v["patients"])
check_lines(t, [[(r, c) for c in range(len(networks) + 1)] for r in range(len(t["rows"]))])

for problem in problems[:30]:
    print(problem)
if problems:
    print(f"{len(problems)} problems in {checked} figures")
    sys.exit(1)
print(f"reports ok: {checked} figures checked, "
      f"{g['suppressed']['primary'] + ac['suppressed']['primary']} primary masks")
