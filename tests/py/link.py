"""An attacker's pairing of two research zones made from one input: files paired by
dataset, partition, ledger order and row count, then row i of one file with row i of the
other. Prints one JSON line per paired row with a patient pseudonym: ["row", zone A's,
zone B's]; per file, whether its rows come in an order that depends on the rows alone
(sorted by patient pseudonym)."""
import json, os, sys
import pyarrow.parquet as pq


def files(zone):
    """Files in ledger order, with (dataset, partition, rows)."""
    log = os.path.join(zone, "_msma", "log")
    out = []
    for name in sorted(os.listdir(log)):
        with open(os.path.join(log, name)) as f:
            record = json.load(f)
        for e in record["files"]:
            partition = os.path.dirname(e["path"])
            out.append(((e["dataset"], partition, e["rows"]), e["path"]))
    return out


def main(a, b):
    fa, fb = files(a), files(b)
    names_a = {os.path.basename(p) for _, p in fa}
    names_b = {os.path.basename(p) for _, p in fb}
    print(json.dumps({"shared_file_names": len(names_a & names_b)}))
    # The n-th file of a (dataset, partition, rows) class in A goes with the n-th in B.
    by_class = {}
    for key, p in fb:
        by_class.setdefault(key, []).append(p)
    seen = {}
    for key, pa in fa:
        n = seen.get(key, 0)
        seen[key] = n + 1
        if n >= len(by_class.get(key, [])):
            continue
        ta = pq.read_table(os.path.join(a, pa))
        tb = pq.read_table(os.path.join(b, by_class[key][n]))
        if "patient_pseudonym" not in ta.column_names:
            continue
        ra, rb = ta.column("patient_pseudonym").to_pylist(), tb.column("patient_pseudonym").to_pylist()
        print(json.dumps({"file": pa, "rows": len(ra), "sorted": ra == sorted(ra)}))
        for x, y in zip(ra, rb):
            print(json.dumps(["row", x, y]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
