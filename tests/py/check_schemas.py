#!/usr/bin/env python3
"""Checks the JSON Schemas under schemas/ and their examples; validates NDJSON on demand.

    python3 tests/py/check_schemas.py            # check schemas and examples
    python3 tests/py/check_schemas.py -v         # ... and say why each invalid one fails
    python3 tests/py/check_schemas.py --stdin    # one "valid"/"invalid" line per input line

Checks: (a) every schema is a valid draft 2020-12 schema, with the envelope identical in
all of them and in step with schemas/build.py; (b) every file under
schemas/examples/valid/ validates and every file under schemas/examples/invalid/ does
not, the schema being chosen by the event's event_type and schema_version (unknown ones
are invalid); (c) the code lists match crates/schema/src/codes.rs.

Validation is meant to accept exactly what the Rust decoder (msma_schema::decode)
accepts, so it goes beyond plain python-jsonschema in three places:
- parsing: the text must be UTF-8 JSON without duplicate keys, NaN/Infinity or lone
  UTF-16 surrogates (serde_json refuses them; Python's json module does not);
- patterns: evaluated with ECMA-262 semantics, where `$` is the end of the string
  (Python's `$` also matches before a final newline);
- formats: asserted (FormatChecker; date-time needs the rfc3339-validator package).

Requires the `jsonschema` package (4.18 or later).
"""

import argparse
import functools
import json
import re
import sys
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
EXAMPLES = SCHEMAS / "examples"
CODES_RS = ROOT / "crates" / "model" / "src" / "codes.rs"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


# --- ECMA-262 patterns -------------------------------------------------------------------
def ecma_to_python(pattern):
    """Rewrites an ECMA-262 pattern for Python's re: `$` outside a character class
    becomes `\\Z` (end of string only). The patterns under schemas/ use nothing else whose
    meaning differs (no \\d, \\w, \\s, \\b, flags or multiline)."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "$":
            c = r"\Z"
        out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=None)
def compiled(pattern):
    return re.compile(ecma_to_python(pattern))


def ecma_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


Validator = validators.extend(Draft202012Validator, {"pattern": ecma_pattern})
FORMATS = FormatChecker()


# --- Strict JSON parsing -------------------------------------------------------------------
class NotAccepted(ValueError):
    pass


def _object(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise NotAccepted(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _constant(name):
    raise NotAccepted(f"{name} is not JSON")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_surrogates(value):
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if _SURROGATE.search(v):
                raise NotAccepted("lone UTF-16 surrogate in a string")
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def parse(data):
    """Parses one event as the Rust decoder does; raises ValueError (or RecursionError)
    when it is not acceptable JSON."""
    text = data.decode("utf-8")  # strict: no surrogates, no overlong forms
    value = json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    _no_surrogates(value)
    return value


# --- Schemas -------------------------------------------------------------------------------
def load_schemas():
    """{(event_type, version): schema} for every schemas/<type>/v<N>.schema.json."""
    found = {}
    for path in sorted(SCHEMAS.glob("*/v*.schema.json")):
        m = re.fullmatch(r"v([1-9][0-9]*)\.schema\.json", path.name)
        if m:
            found[(path.parent.name, int(m.group(1)))] = (
                path, json.loads(path.read_text(encoding="utf-8")))
    return found


@functools.lru_cache(maxsize=None)
def validator_for(key):
    path, schema = SCHEMA_FILES[key]
    return Validator(schema, format_checker=FORMATS)


SCHEMA_FILES = load_schemas()


def check_event(data):
    """(True, None) when the event is valid, else (False, reason)."""
    try:
        event = parse(data)
    except (ValueError, RecursionError) as e:
        return False, f"not acceptable JSON: {e}"
    if not isinstance(event, dict):
        return False, "not a JSON object"
    event_type, version = event.get("event_type"), event.get("schema_version")
    if isinstance(version, float) and version.is_integer():
        version = int(version)
    if not isinstance(event_type, str) or isinstance(version, bool) or not isinstance(
            version, int) or (event_type, version) not in SCHEMA_FILES:
        return False, f"no schema for event_type {event_type!r} version {version!r}"
    try:
        errors = sorted(validator_for((event_type, version)).iter_errors(event),
                        key=lambda e: list(e.absolute_path))
    except RecursionError:
        return False, "too deeply nested"
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(event)"
        return False, f"{where}: {e.message}"
    return True, None


# --- Checks --------------------------------------------------------------------------------
def check_schemas(fail):
    if not SCHEMA_FILES:
        fail("schemas/", "no schema found")
    shared = None
    for (event_type, version), (path, schema) in SCHEMA_FILES.items():
        rel = path.relative_to(ROOT)
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as e:  # SchemaError, or a bad regex
            fail(rel, f"not a valid draft 2020-12 schema: {e}")
            continue
        if schema.get("$schema") != DIALECT:
            fail(rel, f"$schema is not {DIALECT}")
        expected_id = f"https://msma.invalid/schemas/{event_type}/v{version}.schema.json"
        if schema.get("$id") != expected_id:
            fail(rel, f"$id is not {expected_id}")
        props = schema.get("properties", {})
        if props.get("event_type", {}).get("const") != event_type:
            fail(rel, "event_type const does not match the directory")
        if props.get("schema_version", {}).get("const") != version:
            fail(rel, "schema_version const does not match the file name")
        for p in re.findall(r'"pattern": ("(?:[^"\\]|\\.)*")', path.read_text("utf-8")):
            try:
                compiled(json.loads(p))
            except re.error as e:
                fail(rel, f"pattern {p} does not compile: {e}")
        common = {k: v for k, v in props.items() if k not in ("event_type", "payload")}
        common = json.dumps([schema.get("required"), common], sort_keys=True)
        if shared is None:
            shared = (rel, common)
        elif common != shared[1]:
            fail(rel, f"envelope differs from {shared[0]}")
    sys.path.insert(0, str(SCHEMAS))
    sys.dont_write_bytecode = True
    try:
        import build
    except ImportError as e:
        fail("schemas/build.py", f"cannot import: {e}")
        return
    for path, text in build.outputs().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            fail(path.relative_to(ROOT), "out of step with schemas/build.py (run it)")


def check_examples(fail, verbose):
    counts = {}
    for expect in ("valid", "invalid"):
        files = sorted((EXAMPLES / expect).glob("*.json"))
        counts[expect] = len(files)
        if not files:
            fail(f"schemas/examples/{expect}/", "no example")
        for path in files:
            ok, reason = check_event(path.read_bytes())
            rel = path.relative_to(ROOT)
            if ok and expect == "invalid":
                fail(rel, "validates, but is an invalid example")
            elif not ok and expect == "valid":
                fail(rel, f"does not validate: {reason}")
            elif verbose and reason:
                print(f"ok {rel}: {reason}")
    return counts


def rust_code_lists():
    """{name: [codes]} from the code_list! invocations in codes.rs."""
    text = re.sub(r"//[^\n]*", "", CODES_RS.read_text(encoding="utf-8"))
    lists = {}
    for m in re.finditer(r"code_list!\s*\{\s*(\w+)\s*\{(.*?)\}\s*\}", text, re.S):
        lists[m.group(1)] = re.findall(r'=\s*"([^"]*)"', m.group(2))
    return lists


def check_code_lists(fail):
    if not CODES_RS.exists():
        print(f"note: {CODES_RS.relative_to(ROOT)} not found, code lists not compared")
        return
    rust = rust_code_lists()
    if "EventType" in rust:
        types = {t for t, _ in SCHEMA_FILES}
        if set(rust["EventType"]) != types:
            fail("schemas/", f"event types {sorted(types)} differ from codes.rs "
                             f"{rust['EventType']}")
    for (_, _), (path, schema) in SCHEMA_FILES.items():
        stack = [schema]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
                continue
            if not isinstance(node, dict):
                continue
            stack.extend(node.values())
            name = node.get("x-msma-code-list")
            if name is None:
                continue
            enum = node["items"]["enum"] if "items" in node else node["enum"]
            enum = [c for c in enum if c is not None]
            if name not in rust:
                fail(path.relative_to(ROOT), f"code list {name} is not in codes.rs")
            elif enum != rust[name]:
                fail(path.relative_to(ROOT), f"code list {name}: schema {enum} != codes.rs "
                                             f"{rust[name]}")


def run_stdin():
    data = sys.stdin.buffer.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = sys.stdout
    for line in lines:
        out.write("valid\n" if check_event(line)[0] else "invalid\n")
    out.flush()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stdin", action="store_true",
                    help="read NDJSON on stdin, print valid/invalid per line")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print why each invalid example is invalid")
    args = ap.parse_args()
    if args.stdin:
        return run_stdin()
    if "date-time" not in FORMATS.checkers:
        print("error: the date-time format is not checked: install rfc3339-validator",
              file=sys.stderr)
        return 2

    failures = []

    def fail(where, what):
        failures.append(f"FAIL {where}: {what}")
        print(failures[-1], file=sys.stderr)

    check_schemas(fail)
    counts = check_examples(fail, args.verbose)
    check_code_lists(fail)
    print(f"{len(SCHEMA_FILES)} schemas, {counts['valid']} valid and {counts['invalid']} "
          f"invalid examples: {'FAILED, ' + str(len(failures)) + ' failure(s)' if failures else 'ok'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
