"""The part of msma's contract the reference implementations need, written the way a data
engineer would get it: the event rules from the published JSON Schemas (schemas/), the
output columns from docs/DATA-DICTIONARY.md, the keys and generalisation from
docs/PSEUDONYMISATION.md. Standard library only; shared by reference.py,
duckdb_ingest.py and same_output.py.
"""

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"

# The output columns, in msma's order (crates/ingest/src/transform.rs): common columns,
# demographics on patient_inclusion only, then the payload's. Types are Arrow's.
COMMON = [
    ("patient_pseudonym", "string"),
    ("microstructure_pseudonym", "string"),
    ("occurred_on", "date32"),
]
DEMOGRAPHICS = [
    ("sex", "string"),
    ("age_years", "int16"),
    ("age_band", "string"),
    ("departement", "string"),
    ("region", "string"),
]
# Payload field -> (column, Arrow type), where the column is not the field's name or the
# type is not the obvious one. Every integer is int16 but amount_cents; identifiers are
# replaced by their pseudonym in the domain named here.
RENAMED = {
    ("consultation", "professional_id"): "professional_pseudonym",
    ("synthesis_meeting", "meeting_id"): "meeting_pseudonym",
    ("forfait_claim", "year"): "claim_year",
}
DOMAINS = {"professional_id": "professional", "meeting_id": "meeting"}
INT64 = {("forfait_claim", "amount_cents")}

EVENT_TYPES = [
    "patient_inclusion",
    "substance_assessment",
    "consultation",
    "synthesis_meeting",
    "screening",
    "treatment",
    "follow_up_end",
    "forfait_claim",
]


@dataclass
class Field:
    """One payload field: how to check it (from its schema) and which column it fills."""

    name: str
    column: str
    arrow: str  # string | int16 | int64 | bool | list<string>
    kind: str  # code | codes | bool | int | token
    required: bool
    nullable: bool
    codes: frozenset = frozenset()
    lo: int = 0
    hi: int = 0
    min_items: int = 0
    pattern: object = None  # compiled, for tokens
    domain: str = ""  # pseudonym domain, for tokens


def _field(event_type, name, spec, required):
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    base = next(t for t in types if t != "null")
    f = Field(
        name=name,
        column=RENAMED.get((event_type, name), name),
        arrow="",
        kind="",
        required=name in required,
        nullable="null" in types,
    )
    if base == "string" and "enum" in spec:
        f.kind, f.arrow, f.codes = "code", "string", frozenset(c for c in spec["enum"] if c is not None)
    elif base == "string":
        f.kind, f.arrow, f.pattern, f.domain = "token", "string", re.compile(spec["pattern"]), DOMAINS[name]
    elif base == "array":
        f.kind, f.arrow, f.codes = "codes", "list<string>", frozenset(spec["items"]["enum"])
        f.min_items = spec.get("minItems", 0)
        assert spec.get("uniqueItems"), name
    elif base == "boolean":
        f.kind, f.arrow = "bool", "bool"
    elif base == "integer":
        f.kind, f.lo, f.hi = "int", spec["minimum"], spec["maximum"]
        f.arrow = "int64" if (event_type, name) in INT64 else "int16"
    else:
        raise ValueError(f"{event_type}.{name}: type {base} not handled")
    return f


def load():
    """Per event type: its payload fields in schema order (= msma's column order), and
    the envelope and patient properties of the schema (identical in every file)."""
    payloads, envelope = {}, None
    for t in EVENT_TYPES:
        schema = json.loads((SCHEMAS / t / "v1.schema.json").read_text())
        p = schema["properties"]["payload"]
        payloads[t] = [_field(t, n, s, p["required"]) for n, s in p["properties"].items()]
        envelope = schema["properties"]
    return payloads, envelope


def columns(event_type, payloads):
    """The dataset's (column, Arrow type) list, partition columns excluded."""
    cols = list(COMMON)
    if event_type == "patient_inclusion":
        cols += DEMOGRAPHICS
    return cols + [(f.column, f.arrow) for f in payloads[event_type]]


# --- Keys (docs/PSEUDONYMISATION.md sections 1-3) -------------------------------------


def study_key(key_file, study):
    """HKDF-SHA256(master key, salt empty, info "msma/v1/study/<study>"), 32 bytes: with
    one output block, HKDF-Expand is a single HMAC."""
    text = Path(key_file).read_bytes()
    if not re.fullmatch(rb"[0-9a-f]{64}\n", text):
        raise SystemExit(f"{key_file}: expected 64 lowercase hex characters and a newline")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", study):
        raise SystemExit("study id: 1 to 64 characters among A-Z a-z 0-9 . _ -")
    master = bytes.fromhex(text[:64].decode())
    prk = hmac.digest(b"\0" * 32, master, "sha256")
    return hmac.digest(prk, b"msma/v1/study/" + study.encode() + b"\x01", "sha256")


# --- Generalisation (docs/PSEUDONYMISATION.md section 5, default policy) --------------

AGE_BAND_YEARS = 5
AGE_TOP_CODE = 75

# Département (INSEE) -> region (INSEE, 2016 regions); None: overseas collectivities.
REGIONS = {
    **dict.fromkeys(["01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"], "84"),
    **dict.fromkeys(["02", "59", "60", "62", "80"], "32"),
    **dict.fromkeys(["04", "05", "06", "13", "83", "84"], "93"),
    **dict.fromkeys(["08", "10", "51", "52", "54", "55", "57", "67", "68", "88"], "44"),
    **dict.fromkeys(
        ["09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"], "76"
    ),
    **dict.fromkeys(["14", "27", "50", "61", "76"], "28"),
    **dict.fromkeys(["16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"], "75"),
    **dict.fromkeys(["18", "28", "36", "37", "41", "45"], "24"),
    **dict.fromkeys(["21", "25", "39", "58", "70", "71", "89", "90"], "27"),
    **dict.fromkeys(["22", "29", "35", "56"], "53"),
    **dict.fromkeys(["2A", "2B"], "94"),
    **dict.fromkeys(["44", "49", "53", "72", "85"], "52"),
    **dict.fromkeys(["75", "77", "78", "91", "92", "93", "94", "95"], "11"),
    "971": "01",
    "972": "02",
    "973": "03",
    "974": "04",
    "976": "06",
    **dict.fromkeys(["975", "977", "978", "986", "987", "988"], None),
}


def departement(postcode):
    """The département of a 5-digit postcode, or None: 2A/2B in Corsica (200xx-201xx is
    2A), three digits overseas (97x, 98x), else the first two digits."""
    if postcode is None or not (len(postcode) == 5 and postcode.isascii() and postcode.isdigit()):
        return None
    head = postcode[:2]
    if head == "20":
        code = "2A" if postcode[2] <= "1" else "2B"
    elif head in ("97", "98"):
        code = postcode[:3]
    else:
        code = head
    return code if code in REGIONS else None


def age_band(age):
    if age >= AGE_TOP_CODE:
        return f"{AGE_TOP_CODE}+"
    low = age // AGE_BAND_YEARS * AGE_BAND_YEARS
    return f"{low}-{min(low + AGE_BAND_YEARS - 1, AGE_TOP_CODE - 1)}"
