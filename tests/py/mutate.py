"""Writes, for each event of an NDJSON file, the event itself and mutated copies that
break (or keep) one rule each, deterministically. Used to check that msma's compiled
checks accept exactly what the JSON Schemas accept.

usage: mutate.py INPUT SEED > OUTPUT
"""

import json
import random
import sys

ODD_VALUES = [
    None, True, False, 0, -1, 1.0, 1.5, 10**20, 1e300, "", " ", "x", "X" * 101, "2024-02-30",
    "2024-03-05T10:00:00", "1999-01-01T00:00:00Z", "2024-03-05T10:00:00+01:00", "F", "other",
    "alcohol", "\u202eabc", "é", [], {}, ["psychologist"], ["psychologist", "psychologist"],
]


def leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,), v
            yield from leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield path + (i,), v
            yield from leaves(v, path + (i,))


def set_at(doc, path, value):
    for p in path[:-1]:
        doc = doc[p]
    doc[path[-1]] = value


def del_at(doc, path):
    for p in path[:-1]:
        doc = doc[p]
    if isinstance(doc, dict):
        del doc[path[-1]]
    else:
        doc.pop(path[-1])


def mutations(ev, rng):
    paths = [p for p, _ in leaves(ev)]
    for _ in range(6):
        m = json.loads(json.dumps(ev))
        path = rng.choice(paths)
        action = rng.random()
        if action < 0.2:
            del_at(m, path)
        elif action < 0.3:
            parent = m
            for p in path[:-1]:
                parent = parent[p]
            if isinstance(parent, dict):
                parent["extra_" + str(rng.randint(0, 9))] = "185057800608491"
            else:
                parent.append(rng.choice(["patient", "nonsense"]))
        elif action < 0.4:
            value = dict(leaves(ev))[path]
            if isinstance(value, int) and not isinstance(value, bool):
                set_at(m, path, rng.choice([value + 0.0, value + 0.5, -value, value * 1000, str(value)]))
            elif isinstance(value, str):
                set_at(m, path, rng.choice([value + "x", value.upper(), " " + value, value[:-1], value + "\t"]))
            else:
                set_at(m, path, rng.choice(ODD_VALUES))
        else:
            set_at(m, path, rng.choice(ODD_VALUES))
        yield m


def main(path, seed):
    rng = random.Random(int(seed))
    out = sys.stdout
    with open(path) as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            out.write(json.dumps(ev, ensure_ascii=False) + "\n")
            for m in mutations(ev, rng):
                out.write(json.dumps(m, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
