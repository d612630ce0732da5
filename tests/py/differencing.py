#!/usr/bin/env python3
"""The differencing attack on msma's reports: how many masked counts below the threshold
can be pinned to one exact value by combining every published report of a zone.

    differencing.py REPORT.json...

The attacker knows what each cell counts (the definitions in docs/RESEARCHERS.md) and how
disclosure control works (what a mask says, the largest noise of the perturbation table
the report publishes), and nothing else. The unknowns are the patients of each
(year, network, region of residence, sex) and, for the tables by category, of each
(year, network, region, sex, category); the patients eligible for the flat rate and
those reviewed in a meeting, of each (year, network, region). Every published cell is a
sum of unknowns:

- a published count equals its sum (or lies within the noise of it, and is at least the
  threshold, when the report says its counts are perturbed);
- a masked count lies in [0, threshold - 1] when the report says it was masked for being
  small ("primary"), else in [0, threshold + largest noise - 1] (perturbed reports), else
  is only >= 0;
- a category or year missing from a table has no patient in that report's scope;
- a ratio shown as "-" beside masked counts has a zero denominator;
- unknowns are integers >= 0; a category table's rows add up to the patients of its
  group (the age groups to at most them); the eligible are at most the patients, the
  reviewed at most the eligible.

For each masked count, linear programming (HiGHS through SciPy) gives the least and the
largest value these constraints allow; integer programming tightens the narrow ranges.
A count is recovered when its range is one value, below the threshold.

It also checks that a count published by several reports (the same patients) is shown
the same way in all of them, masked or not, with the same value.

To spare one pair of programs per masked count, it first solves the constraints for a
few random objectives: a count whose value differs by more than 2 between two of those
solutions cannot be pinned.

Prints "constraints N", "masked N", "inconsistent N", "recovered N" and one line per
recovered count. Exits 1 when the constraints have no solution (the attacker's model of
the reports would be wrong, and its 0 would prove nothing).
"""

import json
import math
import sys

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix, vstack

SEXES = ("F", "M")
BY_CATEGORY = {
    "income_by_sex": "income",
    "activity_by_sex": "activity",
    "first_reason_by_sex": "reason",
    "age_groups_by_sex": "age",
}

docs = []
for path in sys.argv[1:]:
    with open(path) as f:
        docs.append(json.load(f))

variables = {}


def var(*name):
    return variables.setdefault(name, len(variables))


# The universe: every network, region, year and category any report names.
networks, regions, years = set(), {None}, set()
categories = {d: set() for d in BY_CATEGORY.values()}
for doc in docs:
    for t in doc["tables"]:
        if t["id"] == "active_file_by_network":
            networks.update(c for c in t["columns"][:-1])
        if t["id"] in ("activity_by_network", "activity_by_region", "followed_per_year", "active_file_by_network"):
            years.update(int(r["key"].split("/")[0]) for r in t["rows"])
        if t["id"] == "sex_ratio_by_region":
            regions.update(r["key"] for r in t["rows"] if r["key"] not in ("total", "unknown"))
        if t["id"] in BY_CATEGORY:
            categories[BY_CATEGORY[t["id"]]].update(r["key"] for r in t["rows"] if r["key"] != "total")
    if doc["scope"]["network"]:
        networks.add(doc["scope"]["network"])
    if doc["scope"]["region"]:
        regions.add(doc["scope"]["region"])
# Gender reports alone do not list the networks: the patients of any other one.
if not any(doc["report"] == "activity" for doc in docs):
    networks.add("(other networks)")
networks, years = sorted(networks), sorted(years)
regions = sorted(regions, key=lambda r: r or "")


def scope(doc):
    s = doc["scope"]
    nets = [s["network"]] if s["network"] else networks
    regs = [s["region"]] if s["region"] else regions
    return nets, regs


def patients(year, nets, regs, sexes=("F", "M", "U")):
    return [var("x", year, n, r, s) for n in nets for r in regs for s in sexes]


rows_eq, rows_ub = [], []  # (form, value): form = value; (form, lo, hi): lo <= form <= hi


def bound(form, lo, hi):
    rows_ub.append((form, lo, hi))


def noise_of(doc):
    return doc.get("perturbation", {}).get("max_noise", 0)


masked = {}  # form -> descriptions
shown = {}  # form -> set of displays, for the consistency check


def cell(doc, form, c, where):
    """A published or masked count over the unknowns of `form`."""
    form = tuple(sorted(form))
    T, D = doc["threshold"], noise_of(doc)
    display = c["display"] if isinstance(c, dict) else c
    shown.setdefault(form, set()).add(display)
    if isinstance(c, dict):
        value, reason = c["value"], c["masked"]
    else:  # the report's count of unknown sex, as text
        value = int(display) if display.isdigit() else None
        reason = "primary" if display.startswith("<") else "masked"
    if value is not None:
        if D:
            bound(form, max(T, value - D), value + D)
        else:
            rows_eq.append((form, value))
        return
    if reason == "primary":
        bound(form, 0, T - 1)
    elif D:
        bound(form, 0, T + D - 1)
    masked.setdefault(form, []).append((where, T))


def zero(form):
    rows_eq.append((tuple(sorted(form)), 0))


def name(doc, t, r, c):
    s = doc["scope"]
    return (f"{doc['report']}[network={s['network'] or '*'},region={s['region'] or '*'}] "
            f"{t['id']} row {r['key']} column {t['columns'][c]}")


def sex_cells(doc, t, row, forms):
    """Women, men and both of a row; `forms` gives the unknowns of each sex."""
    for c, sexes in enumerate((("F",), ("M",), ("F", "M"))):
        cell(doc, [v for s in sexes for v in forms(s)], row["cells"][c], name(doc, t, row, c))


def gender(doc):
    nets, regs = scope(doc)
    Y = doc["scope"]["year"]
    T = {t["id"]: t for t in doc["tables"]}
    t = T["followed_per_year"]
    present = {int(r["key"]) for r in t["rows"]}
    for row in t["rows"]:
        y = int(row["key"])
        sex_cells(doc, t, row, lambda s: patients(y, nets, regs, (s,)))
    for y in years:
        if y not in present:
            zero(patients(y, nets, regs, SEXES))
    if Y is None:
        return
    s = doc["scope"]
    where = f"gender[network={s['network'] or '*'},region={s['region'] or '*'}] unknown sex"
    cell(doc, patients(Y, nets, regs, ("U",)), doc["unknown_sex"] or "0", where)

    t = T["sex_ratio_by_region"]
    keys = {r["key"] for r in t["rows"]}
    for row in t["rows"]:
        rg = regs if row["key"] == "total" else [None if row["key"] == "unknown" else row["key"]]
        sex_cells(doc, t, row, lambda s: patients(Y, nets, rg, (s,)))
        # A ratio with nothing to divide by, shown as such.
        if not row["cells"][3]["masked"] and row["cells"][3]["value"] is None:
            zero(patients(Y, nets, rg, ("F",)))
    for r in regs:
        if (r or "unknown") not in keys:
            zero(patients(Y, nets, [r], SEXES))

    for tid, d in BY_CATEGORY.items():
        t = T[tid]
        family = lambda s, cats, rg: [var(d, Y, n, r, s, k) for n in nets for r in rg for k in cats]
        keys = {r["key"] for r in t["rows"]}
        for row in t["rows"]:
            if row["key"] == "total" and d != "age":  # the same patients as the base unknowns
                sex_cells(doc, t, row, lambda s: patients(Y, nets, regs, (s,)))
                continue
            cats = sorted(categories[d]) if row["key"] == "total" else [row["key"]]
            sex_cells(doc, t, row, lambda s: family(s, cats, regs))
        for k in categories[d] - keys:
            zero(family("F", [k], regs) + family("M", [k], regs))
    t = T["age_by_sex"]
    for row in t["rows"]:
        sexes = SEXES if row["key"] == "total" else (row["key"],)
        cell(doc, patients(Y, nets, regs, sexes), row["cells"][0], name(doc, t, row, 0))
        cell(doc, [var("age", Y, n, r, s, k) for n in nets for r in regs for s in sexes
                   for k in categories["age"]], row["cells"][1], name(doc, t, row, 1))


def activity(doc):
    nets, regs = scope(doc)
    columns = {0: "x", 6: "reviewed", 7: "eligible"}

    def form(kind, y, ns, rs):
        if kind == "x":
            return patients(y, ns, rs)
        return [var(kind, y, n, r) for n in ns for r in rs]

    for t in doc["tables"]:
        if t["id"] == "active_file_by_network":
            for row in t["rows"]:
                y = int(row["key"])
                for c, col in enumerate(t["columns"]):
                    ns = nets if c == len(t["columns"]) - 1 else [col]
                    cell(doc, patients(y, ns, regs), row["cells"][c], name(doc, t, row, c))
            continue
        by_network = t["id"] == "activity_by_network"
        keys = {r["key"] for r in t["rows"]}
        for row in t["rows"]:
            y, g = row["key"].split("/")
            y = int(y)
            ns, rs = nets, regs
            if g != "*":
                if by_network:
                    ns = [g]
                else:
                    rs = [None if g == "unknown" else g]
            for c, kind in columns.items():
                cell(doc, form(kind, y, ns, rs), row["cells"][c], name(doc, t, row, c))
        ys = {int(k.split("/")[0]) for k in keys}
        for y in ys:
            for g in (nets if by_network else regs):
                if f"{y}/{g or 'unknown'}" not in keys:
                    ns, rs = ([g], regs) if by_network else (nets, [g])
                    zero(patients(y, ns, rs))


for doc in docs:
    (gender if doc["report"] == "gender" else activity)(doc)

# Structure: category families add up to their group, eligible <= patients, reviewed <= eligible.
links = {}
for k in list(variables):
    if k[0] in BY_CATEGORY.values():
        d, y, n, r, s, _ = k
        links.setdefault((d, y, n, r, s), set()).add(variables[k])
for (d, y, n, r, s), members in links.items():
    for cat in categories[d]:
        members.add(var(d, y, n, r, s, cat))
    total = var("x", y, n, r, s)
    form = [(v, 1) for v in sorted(members)] + [(total, -1)]
    if d == "age":
        rows_ub.append((tuple(form), -math.inf, 0))
    else:
        rows_eq.append((tuple(form), 0))
for k in list(variables):
    if k[0] in ("eligible", "reviewed"):
        _, y, n, r = k
        upper = [(var("x", y, n, r, s), -1) for s in ("F", "M", "U")] if k[0] == "eligible" else \
            [(var("eligible", y, n, r), -1)]
        rows_ub.append((((variables[k], 1), *upper), -math.inf, 0))


def matrix(forms):
    data, rows, cols = [], [], []
    for i, f in enumerate(forms):
        for item in f:
            v, w = item if isinstance(item, tuple) else (item, 1)
            rows.append(i)
            cols.append(v)
            data.append(w)
    return csr_matrix((data, (rows, cols)), shape=(len(forms), len(variables)))


A_eq = matrix([f for f, _ in rows_eq])
b_eq = np.array([v for _, v in rows_eq], dtype=float)
A_ub = matrix([f for f, _, _ in rows_ub])
lo = np.array([l for _, l, _ in rows_ub], dtype=float)
hi = np.array([h for _, _, h in rows_ub], dtype=float)
# linprog takes A_ub x <= b_ub: the upper bounds, then the lower ones negated.
A_le, b_le = vstack([A_ub, -A_ub]).tocsr(), np.concatenate([hi, -lo])
finite = np.isfinite(b_le)
A_le, b_le = A_le[finite], b_le[finite]
print(f"constraints {len(rows_eq) + len(rows_ub)} over {len(variables)} unknowns, {len(docs)} reports")


def extreme(form, sign, integer=False):
    c = np.zeros(len(variables))
    for v in form:
        c[v] = sign
    if integer:
        res = milp(c, integrality=np.ones(len(variables)), bounds=Bounds(0, np.inf),
                   constraints=[LinearConstraint(A_eq, b_eq, b_eq), LinearConstraint(A_ub, lo, hi)],
                   options={"time_limit": 20})
    else:
        res = linprog(c, A_ub=A_le, b_ub=b_le, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if res.status == 2:
        print("the constraints have no solution: the model of the reports is wrong")
        sys.exit(1)
    if res.status != 0:  # unbounded, or no proven optimum in time: no pin from it
        return None
    return sign * res.fun


recovered = []
forms = list(masked)
values = np.zeros((0, len(forms)))
# Solutions for random objectives: a count whose value differs by more than 2 between two
# of them has an LP range wider than 2, so it cannot be pinned; only the others need
# their own least and largest values.
rng = np.random.default_rng(0)
form_matrix = matrix(forms) if forms else None
for i in range(12):
    # Each masked count pushed up or down at random, all at once.
    c = form_matrix.T @ rng.choice([-1.0, 1.0], len(forms)) if forms else np.zeros(len(variables))
    c = np.asarray(c).ravel() + rng.uniform(-0.01, 0.01, len(variables))
    # Within a box, so that every objective has a solution (which is one of the problem's).
    point = linprog(c, A_ub=A_le, b_ub=b_le, A_eq=A_eq, b_eq=b_eq, bounds=(0, 1e6), method="highs")
    if point.status != 0:
        print("the constraints have no solution: the model of the reports is wrong")
        sys.exit(1)
    if forms:
        values = np.vstack([values, form_matrix @ point.x])
low, high = (values.min(axis=0), values.max(axis=0)) if forms else ([], [])
print(f"solved {sum(1 for a, b in zip(low, high) if b - a <= 2)} of {len(forms)} masked counts one by one")
for form, at_least, at_most in zip(forms, low, high):
    if at_most - at_least > 2:
        continue
    # A range wider than 2 holds two whole values.
    hi_v = extreme(form, -1)
    if hi_v is None or hi_v - at_least > 2:
        continue
    lo_v = extreme(form, 1)
    if lo_v is None:
        continue
    lo_i, hi_i = math.ceil(lo_v - 1e-6), math.floor(hi_v + 1e-6)
    if lo_i != hi_i and hi_i - lo_i <= 2:
        lo_m, hi_m = extreme(form, 1, True), extreme(form, -1, True)
        if lo_m is not None and hi_m is not None:
            lo_i, hi_i = math.ceil(lo_m - 1e-6), math.floor(hi_m + 1e-6)
    where, threshold = max(masked[form], key=lambda m: m[1])
    if lo_i == hi_i and lo_i < threshold:
        recovered.append((where, lo_i))

inconsistent = [f for f, d in shown.items() if len(d) > 1]
print(f"masked {len(masked)}")
print(f"inconsistent {len(inconsistent)}")
print(f"recovered {len(recovered)}")
for where, v in recovered:
    print(f"  {where} = {v}")
