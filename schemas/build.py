#!/usr/bin/env python3
"""Writes every JSON Schema under schemas/ and docs/SCHEMAS.md from one source of truth.

    python3 schemas/build.py          # (re)write the files
    python3 schemas/build.py --check  # exit 1 if a written file differs from its source

The schemas are self-contained (no cross-file $ref): the envelope is generated from the
same dictionaries for every event type, so it is byte-identical in every file. They
mirror the Rust decoder in crates/schema (event.rs, payload.rs, codes.rs, checks.rs,
int.rs); tests/py/check_schemas.py checks the examples and the code lists against them.
Edit this file, never its outputs.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://msma.invalid/schemas"

# ---------------------------------------------------------------------------------------
# Code lists: exactly those of crates/schema/src/codes.rs, in the same order.
# name: (codes, meaning, RECAP item, EMCDDA TDI 3.0 item)
# ---------------------------------------------------------------------------------------
CODE_LISTS = {
    "Sex": (
        ["F", "M", "U"],
        "Administrative sex: F, M, or U for unknown / not stated.",
        "sexe",
        "gender",
    ),
    "ReferralOrigin": (
        ["self_or_family", "general_practitioner", "csapa", "caarud", "hospital",
         "psychiatry", "social_services", "justice", "other"],
        "Origin of the request for care.",
        "origine de la demande",
        "item 9 (source of referral)",
    ),
    "FirstReason": (
        ["addiction", "precarity", "mental_health"],
        "First reason for care in the microstructure.",
        "none (CNRMS activity reports: motif de prise en charge)",
        "none",
    ),
    "Housing": (
        ["durable", "precarious", "homeless", "institution"],
        "Housing.",
        "logement",
        "item 13 (living status: where)",
    ),
    "Household": (
        ["alone", "couple", "couple_with_children", "alone_with_children", "parents", "other"],
        "Household: who the patient lives with.",
        "vit avec",
        "item 12 (living status: with whom)",
    ),
    "MainIncome": (
        ["employment", "unemployment_benefit", "rsa", "aah", "other_benefits", "third_party",
         "none", "other"],
        "Main source of income (RSA: revenu de solidarité active; AAH: allocation aux "
        "adultes handicapés).",
        "origine principale des ressources",
        "none",
    ),
    "ProfessionalActivity": (
        ["employed", "unemployed", "inactive", "student", "retired", "disability"],
        "Professional situation.",
        "situation professionnelle",
        "item 14 (labour status)",
    ),
    "HealthCover": (
        ["general_scheme", "css", "ame", "none", "other"],
        "Health cover (CSS: complémentaire santé solidaire; AME: aide médicale de l'État).",
        "couverture sociale",
        "none",
    ),
    "Education": (
        ["none", "primary", "secondary", "vocational", "baccalaureate", "higher"],
        "Highest education level reached.",
        "niveau d'études",
        "item 15 (highest educational level completed)",
    ),
    "Product": (
        ["alcohol", "tobacco", "cannabis", "heroin", "buprenorphine_misused",
         "methadone_misused", "other_opioids", "cocaine", "crack", "amphetamines", "mdma",
         "hallucinogens", "benzodiazepines", "other_substance", "gambling", "screens"],
        "Product used or behavioural addiction (gambling, screens).",
        "produits consommés et addictions sans produit",
        "item 17 (primary drug; secondary drugs use the same list)",
    ),
    "Route": (
        ["oral", "smoked", "sniffed", "injected", "other"],
        "Usual route of administration.",
        "mode de consommation",
        "item 19 (usual route of administration)",
    ),
    "Frequency30d": (
        ["not_used", "less_than_weekly", "weekly", "several_per_week", "daily"],
        "Frequency of use over the last 30 days.",
        "fréquence de consommation (30 derniers jours)",
        "item 20 (frequency of use)",
    ),
    "UseLevel": (
        ["use", "harmful_use", "dependence"],
        "Use level.",
        "usage / usage nocif (abus) / dépendance",
        "none",
    ),
    "ProfessionalRole": (
        ["general_practitioner", "psychologist", "social_worker", "psychiatrist"],
        "Professional who holds a consultation in a microstructure.",
        "none",
        "none",
    ),
    "ConsultationMode": (
        ["in_person", "phone", "video", "home"],
        "How a consultation was held.",
        "none",
        "none",
    ),
    "ParticipantRole": (
        ["general_practitioner", "psychologist", "social_worker", "psychiatrist",
         "coordinator", "csapa_staff", "patient", "other_carer"],
        "Who took part in a synthesis meeting.",
        "none",
        "none",
    ),
    "MeetingDecision": (
        ["continue_follow_up", "refer_csapa", "refer_psychiatry", "refer_hospital",
         "start_treatment", "adjust_treatment", "social_support", "housing_application",
         "propose_screening", "end_follow_up"],
        "Decision a synthesis meeting takes for the patient reviewed.",
        "none",
        "none",
    ),
    "ScreeningTarget": (
        ["hiv", "hcv", "hbv"],
        "Infection screened for.",
        "sérologies VIH et VHC; vaccination VHB",
        "none",
    ),
    "ScreeningTest": (
        ["serology", "rapid_test", "rna_pcr"],
        "Kind of screening test (rna_pcr: viral RNA or DNA by PCR).",
        "sérologie; ARN VHC",
        "none",
    ),
    "ScreeningResult": (
        ["negative", "positive", "indeterminate", "pending"],
        "Screening result.",
        "résultat de la sérologie",
        "none",
    ),
    "TreatmentKind": (
        ["opioid_substitution", "hcv_antiviral", "hiv_art", "psychotropic",
         "alcohol_pharmacotherapy", "nicotine_replacement"],
        "Kind of treatment.",
        "traitement de substitution aux opioïdes (TSO); autres traitements",
        "none",
    ),
    "Molecule": (
        ["methadone", "buprenorphine", "buprenorphine_naloxone", "sofosbuvir_velpatasvir",
         "glecaprevir_pibrentasvir", "antiretroviral", "acamprosate", "naltrexone",
         "nalmefene", "baclofen", "disulfiram", "nicotine", "antidepressant", "anxiolytic",
         "antipsychotic", "other"],
        "Molecule or class prescribed.",
        "TSO: méthadone, buprénorphine; autres traitements",
        "none",
    ),
    "TreatmentAction": (
        ["start", "continue", "change", "stop"],
        "What happens to the treatment.",
        "none",
        "none",
    ),
    "EndReason": (
        ["goals_met", "referred_elsewhere", "lost_to_follow_up", "moved", "incarcerated",
         "hospitalised", "died", "refused"],
        "Why follow-up ended.",
        "none (CNRMS activity reports: motif de fin de suivi)",
        "none",
    ),
    "ClaimStatus": (
        ["submitted", "accepted", "paid", "rejected"],
        "Status of a yearly flat-rate claim to the CNAM.",
        "none",
        "none",
    ),
}

# ---------------------------------------------------------------------------------------
# Field specifications. A field is a dict with:
#   kind: "string" | "code" | "codes" | "int" | "bool"   (plus the keys each kind needs)
#   required: True for non-Option Rust fields (required and non-null); False for Option
#             fields (optional and nullable)
#   desc, cls (x-msma-class), recap (x-recap, optional)
# ---------------------------------------------------------------------------------------
CLASSES = ("direct_identifier", "pseudonymised", "quasi_identifier", "attribute")

UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
NETWORK_ID = "^[A-Z][A-Z-]*([0-9]{1,4}[A-Z-]+)*[0-9]{0,4}$"
TOKEN = "^[!-~]{1,64}$"
OCCURRED_AT = (
    "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?"
    "(Z|[+-][0-9]{2}:[0-9]{2})$"
)
LOCAL_ID = "^[ \\t]*[!-~]([ -~]*[!-~])?[ \\t]*$"
INS = "^[12378][0-9]{4}(2[AB]|[0-9]{2})[0-9]{8}$"
BIRTH_DATE = "^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$"
POSTCODE = "^[0-9]{5}$"
PHONE = "^(\\+33|0033|0)[1-9]([ .-]?[0-9]{2}){4}$"
EMAIL = "^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$"


def string(desc, cls, required, pattern=None, min_len=None, max_len=None, fmt=None,
           recap=None, doc_type=None):
    return dict(kind="string", desc=desc, cls=cls, required=required, pattern=pattern,
                min_len=min_len, max_len=max_len, fmt=fmt, recap=recap, doc_type=doc_type)


def code(code_list, desc, required, recap=None, cls="attribute"):
    return dict(kind="code", code_list=code_list, desc=desc, cls=cls, required=required,
                recap=recap)


def codes(code_list, desc, min_items, recap=None):
    return dict(kind="codes", code_list=code_list, desc=desc, cls="attribute", required=True,
                min_items=min_items, recap=recap)


def integer(lo, hi, desc, required, recap=None):
    return dict(kind="int", lo=lo, hi=hi, desc=desc, cls="attribute", required=required,
                recap=recap)


def boolean(desc, required, recap=None):
    return dict(kind="bool", desc=desc, cls="attribute", required=required, recap=recap)


PATIENT = {
    "local_id": string(
        "Patient number in the network's software, stable across the patient's events. "
        "1 to 64 printable ASCII characters; spaces inside are kept, spaces and tabs around "
        "are trimmed before pseudonymisation (the whole value, spaces included, is at most "
        "64 characters). Replaced by a keyed pseudonym of network_id and local_id.",
        "pseudonymised", True, pattern=LOCAL_ID, max_len=64,
        doc_type="string, 1-64 printable ASCII"),
    "ins": string(
        "INS / NIR (French national health identifier) with its 2-digit key: 15 characters, "
        "département 2A or 2B allowed. Only the shape is checked, not the key. Never "
        "reaches a dataset. Absent when the patient asked for anonymous care.",
        "direct_identifier", False, pattern=INS,
        doc_type="string, NIR shape"),
    "last_name": string(
        "Last name (birth or usual name), 1 to 100 characters. Never reaches a dataset.",
        "direct_identifier", False, min_len=1, max_len=100, doc_type="string, 1-100 chars"),
    "first_name": string(
        "First name, 1 to 100 characters. Never reaches a dataset.",
        "direct_identifier", False, min_len=1, max_len=100, doc_type="string, 1-100 chars"),
    "birth_date": string(
        "Date of birth (YYYY-MM-DD, a real calendar date from 1900 to 2099). Generalised to "
        "an age and an age band.",
        "quasi_identifier", False, pattern=BIRTH_DATE, fmt="date",
        recap="RECAP: âge; TDI 3.0: age / year of birth", doc_type="date 1900-2099"),
    "sex": code(
        "Sex", "Administrative sex: F, M, or U for unknown / not stated.", False,
        recap="RECAP: sexe; TDI 3.0: gender", cls="quasi_identifier"),
    "postcode": string(
        "Postcode of residence (5 digits). Generalised to a département and a region.",
        "quasi_identifier", False, pattern=POSTCODE,
        recap="RECAP: lieu de résidence (département)", doc_type="string, 5 digits"),
    "phone": string(
        "French phone number: +33, 0033 or 0, then a digit 1-9 and 8 digits, in pairs "
        "optionally separated by a space, dot or hyphen. Never reaches a dataset.",
        "direct_identifier", False, pattern=PHONE, doc_type="string, French phone"),
    "email": string(
        "Email address (at most 254 characters, ASCII local@domain.tld). Never reaches a "
        "dataset.",
        "direct_identifier", False, pattern=EMAIL, max_len=254, doc_type="string, email"),
}

# The envelope, in the order the properties appear. event_type and schema_version are
# filled in per event type; patient and payload are objects described elsewhere.
ENVELOPE = {
    "event_id": string(
        "Identifies the event: a UUID (any version, hexadecimal digits in either case). "
        "A redelivered event keeps its event_id. Carries no patient information.",
        "attribute", True, pattern=UUID, doc_type="string, UUID"),
    "event_type": None,
    "schema_version": None,
    "network_id": string(
        "Code of the regional network (RMS) that sends the event: 2 to 16 characters, "
        "uppercase letters, digits and hyphens, a letter first and never five digits in a "
        "row, so that no number identifying a person fits (it becomes a folder name). msma "
        "also refuses a date or a phone number written with hyphens (`RMS-06-12-34-56-78`), "
        "and ingest takes only the networks its study's policy declares.",
        "attribute", True, pattern=NETWORK_ID, min_len=2, max_len=16,
        doc_type="string, 2-16 of A-Z 0-9 -, a letter first"),
    "microstructure_id": string(
        "Identifier of the microstructure (GP practice) in the network: 1 to 64 printable "
        "ASCII characters without spaces. Replaced by a keyed pseudonym.",
        "pseudonymised", True, pattern=TOKEN, doc_type="string, 1-64 printable ASCII, no space"),
    "occurred_at": string(
        "When the event happened: an RFC 3339 date-time from 2000 to 2099 with a seconds "
        "field, an optional fraction of 1 to 9 digits and a mandatory offset (Z or +hh:mm / "
        "-hh:mm), uppercase T and Z. Generalised to a period (month by default).",
        "quasi_identifier", True, pattern=OCCURRED_AT, fmt="date-time",
        doc_type="date-time 2000-2099 with offset"),
    "patient": None,
    "payload": None,
}

EVENT_TYPES = {
    "patient_inclusion": dict(
        title="Patient inclusion",
        desc="A patient is included in a microstructure's active file: the RECAP "
             "socio-demographic items, recorded once at the start of follow-up.",
        payload={
            "referral_origin": code("ReferralOrigin", "Who or what sent the patient.", True,
                                    recap="RECAP: origine de la demande; TDI 3.0 item 9"),
            "first_reason": code("FirstReason",
                                 "First reason for care in the microstructure.", True),
            "housing": code("Housing", "Housing at inclusion.", True,
                            recap="RECAP: logement; TDI 3.0 item 13"),
            "household": code("Household", "Who the patient lives with.", False,
                              recap="RECAP: vit avec; TDI 3.0 item 12"),
            "main_income": code("MainIncome", "Main source of income.", True,
                                recap="RECAP: origine principale des ressources"),
            "professional_activity": code(
                "ProfessionalActivity", "Professional situation.", True,
                recap="RECAP: situation professionnelle; TDI 3.0 item 14"),
            "health_cover": code("HealthCover", "Health cover.", False,
                                 recap="RECAP: couverture sociale"),
            "education": code("Education", "Highest education level reached.", False,
                              recap="RECAP: niveau d'études; TDI 3.0 item 15"),
            "prior_care": boolean(
                "Whether the patient was cared for an addiction before.", True,
                recap="RECAP: antécédents de prise en charge; TDI 3.0: ever previously "
                      "treated"),
        },
    ),
    "substance_assessment": dict(
        title="Substance assessment",
        desc="One product or behavioural addiction assessed for the patient (RECAP product "
             "items); one event per product.",
        payload={
            "product": code("Product", "Product used or behavioural addiction.", True,
                            recap="RECAP: produits consommés; TDI 3.0 item 17"),
            "origin_of_care": boolean(
                "Whether this product is at the origin of care.", True,
                recap="RECAP: produit à l'origine de la prise en charge; TDI 3.0 item 17 "
                      "(primary drug) when true"),
            "route": code("Route", "Usual route of administration.", False,
                          recap="RECAP: mode de consommation; TDI 3.0 item 19"),
            "frequency_30d": code("Frequency30d", "Frequency of use over the last 30 days.",
                                  False, recap="RECAP: fréquence de consommation; TDI 3.0 "
                                               "item 20"),
            "use_level": code("UseLevel", "Use level.", False,
                              recap="RECAP: usage / usage nocif / dépendance"),
            "age_first_use": integer(5, 99, "Age at first use, in years.", False,
                                     recap="RECAP: âge de début de consommation; TDI 3.0: "
                                           "age at first use"),
            "ever_injected": boolean("Whether the patient ever injected a product.", False,
                                     recap="RECAP: injection au cours de la vie; TDI 3.0: "
                                           "ever injected"),
            "syringe_sharing": boolean("Whether the patient ever shared injection equipment.",
                                       False, recap="RECAP: partage de seringues"),
            "standard_drinks_per_day": integer(
                0, 100, "Standard drinks (10 g of alcohol) on a usual day.", False,
                recap="RECAP: nombre de verres standard par jour"),
        },
    ),
    "consultation": dict(
        title="Consultation",
        desc="A consultation with one of the microstructure's professionals.",
        payload={
            "professional_role": code("ProfessionalRole", "Who held the consultation.", True),
            "professional_id": string(
                "RPPS, ADELI or local identifier of the professional: 1 to 64 printable "
                "ASCII characters without spaces. Replaced by a keyed pseudonym.",
                "pseudonymised", True, pattern=TOKEN,
                doc_type="string, 1-64 printable ASCII, no space"),
            "mode": code("ConsultationMode", "How the consultation was held.", True),
            "duration_min": integer(0, 480, "Duration in minutes.", False),
            "no_show": boolean("Whether the patient did not come.", True),
        },
    ),
    "synthesis_meeting": dict(
        title="Synthesis meeting",
        desc="The review of one patient at a monthly synthesis meeting (one event per "
             "patient reviewed).",
        payload={
            "meeting_id": string(
                "Identifies the meeting across the patients it reviews: 1 to 64 printable "
                "ASCII characters without spaces. Replaced by a keyed pseudonym.",
                "pseudonymised", True, pattern=TOKEN,
                doc_type="string, 1-64 printable ASCII, no space"),
            "participant_roles": codes("ParticipantRole",
                                       "Roles present at the meeting: at least one, no "
                                       "duplicates.", 1),
            "patient_present": boolean("Whether the patient attended.", True),
            "decisions": codes("MeetingDecision",
                               "Decisions taken for the patient: possibly none, no "
                               "duplicates.", 0),
        },
    ),
    "screening": dict(
        title="Screening",
        desc="A screening test for HIV, HCV or HBV.",
        payload={
            "target": code("ScreeningTarget", "Infection screened for.", True,
                           recap="RECAP: sérologies VIH et VHC; vaccination VHB"),
            "test": code("ScreeningTest", "Kind of test.", True),
            "result": code("ScreeningResult", "Result.", True,
                           recap="RECAP: résultat de la sérologie"),
        },
    ),
    "treatment": dict(
        title="Treatment",
        desc="A treatment started, continued, changed or stopped.",
        payload={
            "kind": code("TreatmentKind", "Kind of treatment.", True,
                         recap="RECAP: traitement de substitution aux opioïdes; autres "
                               "traitements"),
            "molecule": code("Molecule", "Molecule or class prescribed.", False,
                             recap="RECAP: TSO (méthadone, buprénorphine)"),
            "action": code("TreatmentAction", "What happens to the treatment.", True),
        },
    ),
    "follow_up_end": dict(
        title="End of follow-up",
        desc="The end of a patient's follow-up in the microstructure.",
        payload={
            "reason": code("EndReason", "Why follow-up ended.", True),
        },
    ),
    "forfait_claim": dict(
        title="Flat-rate claim",
        desc="The yearly flat-rate claim to the CNAM for one patient (Equip'Addict "
             "forfait), with the activity it covers.",
        payload={
            "year": integer(2019, 2099, "Year the claim covers.", True),
            "amount_cents": integer(0, 10_000_000, "Amount claimed, in euro cents.", True),
            "status": code("ClaimStatus", "Status of the claim.", True),
            "gp_consultations": integer(0, 1000, "GP consultations in the year.", True),
            "psychologist_consultations": integer(0, 1000,
                                                  "Psychologist consultations in the year.",
                                                  True),
            "social_worker_consultations": integer(0, 1000,
                                                   "Social-worker consultations in the year.",
                                                   True),
            "synthesis_meetings": integer(0, 1000,
                                          "Synthesis meetings that reviewed the patient in "
                                          "the year.", True),
        },
    ),
}


# ---------------------------------------------------------------------------------------
# Schema generation
# ---------------------------------------------------------------------------------------
def optional_note(f):
    return "" if f["required"] else " Optional: may be absent or null."


def field_schema(f):
    assert f["cls"] in CLASSES
    nullable = not f["required"]
    s = {}
    if f["kind"] == "string":
        s["type"] = ["string", "null"] if nullable else "string"
        if f["min_len"] is not None:
            s["minLength"] = f["min_len"]
        if f["max_len"] is not None:
            s["maxLength"] = f["max_len"]
        if f["pattern"] is not None:
            s["pattern"] = f["pattern"]
        if f["fmt"] is not None:
            s["format"] = f["fmt"]
    elif f["kind"] == "code":
        values = list(CODE_LISTS[f["code_list"]][0])
        s["type"] = ["string", "null"] if nullable else "string"
        s["enum"] = values + [None] if nullable else values
        s["x-msma-code-list"] = f["code_list"]
    elif f["kind"] == "codes":
        s["type"] = "array"
        if f["min_items"]:
            s["minItems"] = f["min_items"]
        s["uniqueItems"] = True
        s["items"] = {"type": "string", "enum": list(CODE_LISTS[f["code_list"]][0])}
        s["x-msma-code-list"] = f["code_list"]
    elif f["kind"] == "int":
        s["type"] = ["integer", "null"] if nullable else "integer"
        s["minimum"] = f["lo"]
        s["maximum"] = f["hi"]
    elif f["kind"] == "bool":
        s["type"] = ["boolean", "null"] if nullable else "boolean"
    else:
        raise ValueError(f["kind"])
    s["description"] = f["desc"] + optional_note(f)
    if f.get("recap"):
        s["x-recap"] = f["recap"]
    s["x-msma-class"] = f["cls"]
    return s


def object_schema(fields, desc):
    return {
        "type": "object",
        "description": desc,
        "additionalProperties": False,
        "required": [n for n, f in fields.items() if f["required"]],
        "properties": {n: field_schema(f) for n, f in fields.items()},
    }


def event_schema(event_type):
    spec = EVENT_TYPES[event_type]
    props = {}
    for name, f in ENVELOPE.items():
        if name == "event_type":
            props[name] = {
                "type": "string",
                "const": event_type,
                "description": "The event type; selects this schema.",
                "x-msma-class": "attribute",
            }
        elif name == "schema_version":
            props[name] = {
                "type": "integer",
                "const": 1,
                "description": "Version of this event type's schema (1 and 1.0 are the "
                               "same integer).",
                "x-msma-class": "attribute",
            }
        elif name == "patient":
            props[name] = object_schema(
                PATIENT,
                "The patient as the network's software knows them. Only local_id is "
                "required; every identity field may be absent or null (anonymous care).")
        elif name == "payload":
            props[name] = object_schema(spec["payload"], spec["desc"])
        else:
            props[name] = field_schema(f)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{ID_BASE}/{event_type}/v1.schema.json",
        "title": f"msma event: {event_type} v1",
        "description": f"{spec['title']}: {spec['desc']} Generated by schemas/build.py; "
                       "patterns are ECMA-262 regular expressions and formats must be "
                       "asserted.",
        "type": "object",
        "additionalProperties": False,
        "required": list(ENVELOPE),
        "properties": props,
    }


def dump(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------
# Documentation generation
# ---------------------------------------------------------------------------------------
def doc_type(f):
    k = f["kind"]
    if k == "string":
        return f["doc_type"] or "string"
    if k == "code":
        return "code"
    if k == "codes":
        return f"array of codes, unique, {f['min_items']}+ items"
    if k == "int":
        return f"integer {f['lo']}..{f['hi']}"
    return "boolean"


def cell(text):
    """Escapes a Markdown table cell (GFM splits cells on every unescaped pipe)."""
    return text.replace("|", "\\|")


def doc_row(name, f):
    req = "yes" if f["required"] else "no (nullable)"
    cl = f"`{f['code_list']}`" if f["kind"] in ("code", "codes") else ""
    recap = f.get("recap") or ""
    meaning = cell(f["desc"])
    return f"| `{name}` | {cell(doc_type(f))} | {req} | {cl} | {meaning} | {cell(recap)} |"


TABLE_HEAD = ("| field | type | required | code list | meaning | RECAP / TDI |\n"
              "|---|---|---|---|---|---|")


def docs():
    example = (ROOT / "schemas" / "examples" / "valid" / "treatment-methadone-start.json")
    out = [DOC_INTRO, "An event (`schemas/examples/valid/treatment-methadone-start.json`):\n",
           "```json", example.read_text(encoding="utf-8").rstrip("\n"), "```\n"]
    out.append("## The envelope\n")
    out.append("Every event is one JSON object with exactly these eight members:\n")
    out.append("| field | type | class | meaning |\n|---|---|---|---|")
    for name, f in ENVELOPE.items():
        if name == "event_type":
            out.append("| `event_type` | string | attribute | One of the eight event types "
                       "below; selects the schema. |")
        elif name == "schema_version":
            out.append("| `schema_version` | integer | attribute | Version of that event "
                       "type's schema; only `1` exists. |")
        elif name == "patient":
            out.append("| `patient` | object | | Identity fields, below. |")
        elif name == "payload":
            out.append("| `payload` | object | | The event type's fields, below. |")
        else:
            out.append(f"| `{name}` | {cell(doc_type(f))} | {f['cls']} | {cell(f['desc'])} |")
    out.append("")
    out.append("Exact patterns (ECMA-262; `$` is the end of the string):\n")
    pats = [("event_id", UUID, ""), ("network_id", NETWORK_ID, ""),
            ("microstructure_id, professional_id, meeting_id", TOKEN, ""),
            ("occurred_at", OCCURRED_AT, "format `date-time`"),
            ("patient.local_id", LOCAL_ID, "maxLength 64"),
            ("patient.ins", INS, ""), ("patient.birth_date", BIRTH_DATE, "format `date`"),
            ("patient.postcode", POSTCODE, ""), ("patient.phone", PHONE, ""),
            ("patient.email", EMAIL, "maxLength 254")]
    out.append("| field | pattern | also |\n|---|---|---|")
    for n, p, also in pats:
        out.append(f"| {n} | `{cell(p)}` | {also} |")
    out.append("")
    out.append("### `patient`\n")
    out.append("Only `local_id` is required. Identity fields are optional and nullable: "
               "send what the software has, nothing more. Direct identifiers never reach a "
               "dataset; quasi-identifiers are generalised (birth date to age band, "
               "postcode to département and region, `occurred_at` to a period).\n")
    out.append("| field | type | required | class | meaning | RECAP / TDI |\n"
               "|---|---|---|---|---|---|")
    for name, f in PATIENT.items():
        req = "yes" if f["required"] else "no (nullable)"
        t = doc_type(f) if f["kind"] != "code" else "code `Sex`: " + ", ".join(
            f"`{c}`" for c in CODE_LISTS["Sex"][0])
        out.append(f"| `{name}` | {cell(t)} | {req} | {f['cls']} | {cell(f['desc'])} | "
                   f"{cell(f.get('recap') or '')} |")
    out.append("")
    out.append("## Event types\n")
    out.append("Schemas: `schemas/<event_type>/v1.schema.json`. Every payload field is an "
               "attribute except `professional_id` and `meeting_id` (pseudonymised).\n")
    for et, spec in EVENT_TYPES.items():
        out.append(f"### `{et}` v1\n")
        out.append(spec["desc"] + "\n")
        out.append(TABLE_HEAD)
        for name, f in spec["payload"].items():
            out.append(doc_row(name, f))
        out.append("")
    out.append(DOC_RULES)
    out.append("## Code lists and their RECAP / EMCDDA TDI 3.0 items\n")
    out.append("Codes are English snake_case; the Rust enums in `crates/schema/src/codes.rs` "
               "list the same codes in the same order. TDI item numbers follow the TDI 3.0 "
               "protocol; \"none\" means the list has no RECAP or TDI counterpart "
               "(microstructure activity data).\n")
    out.append("| code list | used by | codes | RECAP | TDI 3.0 |\n|---|---|---|---|---|")
    users = {}
    for name, f in PATIENT.items():
        if f["kind"] == "code":
            users.setdefault(f["code_list"], []).append(f"patient.{name}")
    for et, spec in EVENT_TYPES.items():
        for name, f in spec["payload"].items():
            if f["kind"] in ("code", "codes"):
                users.setdefault(f["code_list"], []).append(f"{et}.{name}")
    for cl, (cs, meaning, recap, tdi) in CODE_LISTS.items():
        used = ", ".join(f"`{u}`" for u in users.get(cl, []))
        codes_s = ", ".join(f"`{c}`" for c in cs)
        out.append(f"| `{cl}` | {used} | {codes_s} | {recap} | {tdi} |")
    out.append("")
    return "\n".join(out)


DOC_INTRO = """\
# msma event contract

<!-- Generated by schemas/build.py from the same source as the JSON Schemas: edit the
script, then run `python3 schemas/build.py`. -->

Network software sends msma one event per line (NDJSON, UTF-8). Each event is checked
against the JSON Schema (draft 2020-12) of its `event_type` and `schema_version`, under
`schemas/<event_type>/v<N>.schema.json`. The Rust decoder (`msma_schema::decode`) accepts
exactly the documents those schemas accept; `tests/py/check_schemas.py` is the reference
Python validator. Examples: `schemas/examples/valid/` and `schemas/examples/invalid/`
(one event per file, named after what it shows).

Field classes (`x-msma-class` in the schemas): `direct_identifier` (dropped),
`pseudonymised` (replaced by a keyed pseudonym), `quasi_identifier` (generalised),
`attribute` (kept). `x-recap` names the RECAP / TDI item a field maps to;
`x-msma-code-list` names the code list.
"""

DOC_RULES = """\
## Rules

- **Closed objects.** Unknown members are rejected at every level (envelope, `patient`,
  `payload`). Events, `patient` and `payload` must be JSON objects (not arrays).
- **Duplicate keys are rejected**, at every level, even with equal values (RFC 8259
  leaves them undefined). JSON Schema cannot say this; validators must check it while
  parsing (`check_schemas.py` does).
- **Required fields** (the Rust non-`Option` fields) must be present and not null.
- **Optional fields** may be absent or `null`; both mean "unknown".
- **Integers** may be written `30`, `30.0` or `3e1`: JSON Schema integers are
  mathematical. Fractions (`30.5`), booleans and strings are not integers. Bounds are
  inclusive.
- **Codes** are strings from the listed code list, case-sensitive.
- **Arrays** of codes (`participant_roles`, `decisions`) have no duplicates; order is
  not significant.
- **Strings** are compared after JSON unescaping (`"P\\u002d1"` is `"P-1"`); lengths
  count Unicode code points. Lone UTF-16 surrogates (`"\\ud800"`) are invalid JSON text
  for msma. `NaN` and `Infinity` are not JSON.
- **Patterns** are ECMA-262 regular expressions: `$` is the end of the string. Python's
  `re.search` lets `$` match before a final newline, so plain python-jsonschema accepts
  `"RMS-ALSACE\\n"`; `check_schemas.py` evaluates patterns with ECMA semantics.
- **Formats are assertions**: `occurred_at` must be a real RFC 3339 date-time (no
  February 30, hours 00-23, minutes and seconds 00-59, offset hours 00-23) and
  `birth_date` a real calendar date. Enable format assertion in your validator
  (python-jsonschema: `format_checker=FormatChecker()` with `rfc3339-validator`
  installed).
- **Versions.** An unknown `event_type` or `schema_version` rejects the event. A new
  version of an event type gets a new file, `v2.schema.json`, beside the old one.
"""


def outputs():
    files = {}
    for et in EVENT_TYPES:
        files[ROOT / "schemas" / et / "v1.schema.json"] = dump(event_schema(et))
    files[ROOT / "docs" / "SCHEMAS.md"] = docs()
    return files


def main(argv):
    check = "--check" in argv
    stale = []
    for path, text in outputs().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if check:
            stale.append(path.relative_to(ROOT))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        for p in stale:
            print(f"stale: {p} (run python3 schemas/build.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
