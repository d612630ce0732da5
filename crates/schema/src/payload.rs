//! The event types and their payloads, one struct per event type and schema version,
//! each field declared once: its Rust type (which carries its rule, class and column
//! type, see `field.rs`), its meaning, its RECAP item and its dataset column. The
//! decoder, the JSON Schemas, docs/SCHEMAS.md and the data dictionary all come from
//! these declarations.

use crate::codes::*;
use crate::dataset::{CellSink, Column};
use crate::field::{Codes, Domain, Field, Meeting, Professional, Token, Value};
use crate::int::Int;
use crate::strict::{from_object, json_rejection, object};
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer};

/// `Some` of the literal, or `None` without one.
macro_rules! some {
    () => {
        None
    };
    ($x:literal) => {
        Some($x)
    };
}

/// The first of its arguments.
macro_rules! first {
    ($x:expr $(, $rest:expr)*) => {
        $x
    };
}

/// Declares every event type: the `EventType` code list, one payload struct per type
/// with its fields, and the `Payload` enum of them all.
macro_rules! event_types {
    ($lt:lifetime; $(
        $variant:ident = $code:literal version $version:literal, $title:literal, $doc:literal,
        $name:ident $(<$slt:lifetime>)? {
            $(
                $(#[$attr:meta])*
                $field:ident: $ty:ty = $fdoc:literal,
                    $(recap $recap:literal,)?
                    column $(named $column:literal)? $cdoc:literal;
            )+
        }
    )+) => {
        code_list! {
            EventType {
                meaning: "The event types, each a dataset of its own.",
                recap: "none",
                tdi: "none",
            } {
                $($variant = $code),+
            }
        }

        $(
            #[doc = $doc]
            #[derive(Debug, Clone, Deserialize)]
            #[serde(deny_unknown_fields)]
            pub struct $name $(<$slt>)? {
                $($(#[$attr])* pub $field: $ty,)+
            }

            impl $(<$slt>)? $name $(<$slt>)? {
                const FIELDS: &'static [Field] = &[$(Field {
                    name: stringify!($field),
                    rule: <$ty as Value>::RULE,
                    required: <$ty as Value>::REQUIRED,
                    class: <$ty as Value>::CLASS,
                    doc: $fdoc,
                    recap: some!($($recap)?),
                }),+];

                const COLUMNS: &'static [Column] = &[$(Column {
                    name: first!($($column,)? stringify!($field)),
                    ty: <$ty as Value>::COLUMN,
                    nullable: !<$ty as Value>::REQUIRED,
                    doc: $cdoc,
                }),+];

                fn write_cells(&self, out: &mut dyn CellSink, ps: &mut dyn FnMut(Domain, &str) -> String) {
                    $(Value::write(Some(&self.$field), out, ps);)+
                }

                /// The rules serde does not check.
                fn check(&self) -> Result<(), String> {
                    $(self.$field.check(concat!("payload.", stringify!($field)))?;)+
                    Ok(())
                }
            }
        )+

        /// A decoded payload.
        #[derive(Debug, Clone)]
        pub enum Payload<$lt> {
            $($variant($name $(<$slt>)?)),+
        }

        impl EventType {
            /// The schema versions this build understands, oldest first.
            pub fn versions(self) -> &'static [u16] {
                match self { $(Self::$variant => &[$version]),+ }
            }

            /// A short name, for the docs.
            pub fn title(self) -> &'static str {
                match self { $(Self::$variant => $title),+ }
            }

            /// What one event of the type records.
            pub fn doc(self) -> &'static str {
                match self { $(Self::$variant => $doc),+ }
            }

            /// The payload's fields at `version`, in order (`None` when there is no such
            /// version).
            pub fn fields(self, version: u16) -> Option<&'static [Field]> {
                match (self, version) {
                    $((Self::$variant, $version) => Some($name::FIELDS),)+
                    _ => None,
                }
            }

            /// The payload's dataset columns, in the order [`Payload::write_cells`]
            /// fills them.
            pub fn payload_columns(self) -> &'static [Column] {
                match self { $(Self::$variant => $name::COLUMNS),+ }
            }
        }

        impl<$lt> Payload<$lt> {
            pub fn event_type(&self) -> EventType {
                match self { $(Self::$variant(_) => EventType::$variant),+ }
            }

            /// Writes the payload's cells in the order of [`EventType::payload_columns`];
            /// `pseudonymise` turns each identifying value into its pseudonym.
            pub fn write_cells(&self, out: &mut dyn CellSink, pseudonymise: &mut dyn FnMut(Domain, &str) -> String) {
                match self { $(Self::$variant(p) => p.write_cells(out, pseudonymise)),+ }
            }

            /// The seed that decodes a payload of the given type and version as the
            /// envelope is read, in one pass. `None` when that version of that type
            /// does not exist.
            pub(crate) fn seed(event_type: EventType, version: u16) -> Option<PayloadSeed> {
                event_type.versions().contains(&version).then_some(PayloadSeed { event_type, version })
            }

            /// The rules serde does not check, of a payload decoded by its seed.
            pub(crate) fn check(&self) -> Result<(), String> {
                match self { $(Self::$variant(p) => p.check()),+ }
            }

            /// Decodes the payload of an event of the given type and version. `None`
            /// when that version of that type does not exist.
            pub(crate) fn decode(
                event_type: EventType,
                version: u16,
                json: &$lt str,
                offset: usize,
            ) -> Option<Result<Self, String>> {
                let seed = Self::seed(event_type, version)?;
                let payload = from_object(seed, json).map_err(|e| json_rejection(seed, json, offset, "payload", e).detail);
                Some(payload.and_then(|p| p.check().map(|()| p)))
            }
        }

        impl<'de> DeserializeSeed<'de> for PayloadSeed {
            type Value = Payload<'de>;

            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Payload<'de>, D::Error> {
                match (self.event_type, self.version) {
                    $((EventType::$variant, $version) => object::<D, $name>(d).map(Payload::$variant),)+
                    // `Payload::seed` makes seeds of existing versions only.
                    (t, v) => Err(serde::de::Error::custom(format_args!("{t} has no version {v}"))),
                }
            }
        }
    };
}

/// Decodes one type and version of payload, see [`Payload::seed`].
#[derive(Clone, Copy)]
pub(crate) struct PayloadSeed {
    event_type: EventType,
    version: u16,
}

event_types! { 'a;
    PatientInclusion = "patient_inclusion" version 1, "Patient inclusion",
        "A patient is included in a microstructure's active file: the RECAP socio-demographic items, recorded once at the start of follow-up.",
    PatientInclusionV1 {
        referral_origin: ReferralOrigin = "Who or what sent the patient.",
            recap "RECAP: origine de la demande; TDI 3.0 item 9",
            column "Origin of the request for care";
        first_reason: FirstReason = "First reason for care in the microstructure.",
            column "First reason for care";
        housing: Housing = "Housing at inclusion.",
            recap "RECAP: logement; TDI 3.0 item 13",
            column "Housing";
        household: Option<Household> = "Who the patient lives with.",
            recap "RECAP: vit avec; TDI 3.0 item 12",
            column "Household";
        main_income: MainIncome = "Main source of income.",
            recap "RECAP: origine principale des ressources",
            column "Main source of income";
        professional_activity: ProfessionalActivity = "Professional situation.",
            recap "RECAP: situation professionnelle; TDI 3.0 item 14",
            column "Professional situation";
        health_cover: Option<HealthCover> = "Health cover.",
            recap "RECAP: couverture sociale",
            column "Health cover";
        education: Option<Education> = "Highest education level reached.",
            recap "RECAP: niveau d'études; TDI 3.0 item 15",
            column "Highest education level";
        prior_care: bool = "Whether the patient was cared for an addiction before.",
            recap "RECAP: antécédents de prise en charge; TDI 3.0: ever previously treated",
            column "Already cared for addiction before";
    }

    SubstanceAssessment = "substance_assessment" version 1, "Substance assessment",
        "One product or behavioural addiction assessed for the patient (RECAP product items); one event per product.",
    SubstanceAssessmentV1 {
        product: Product = "Product used or behavioural addiction.",
            recap "RECAP: produits consommés; TDI 3.0 item 17",
            column "Product or behaviour";
        origin_of_care: bool = "Whether this product is at the origin of care.",
            recap "RECAP: produit à l'origine de la prise en charge; TDI 3.0 item 17 (primary drug) when true",
            column "Product at the origin of care";
        route: Option<Route> = "Usual route of administration.",
            recap "RECAP: mode de consommation; TDI 3.0 item 19",
            column "Usual route";
        frequency_30d: Option<Frequency30d> = "Frequency of use over the last 30 days.",
            recap "RECAP: fréquence de consommation; TDI 3.0 item 20",
            column "Frequency over the last 30 days";
        use_level: Option<UseLevel> = "Use level.",
            recap "RECAP: usage / usage nocif / dépendance",
            column "Use, harmful use or dependence";
        age_first_use: Option<Int<5, 99>> = "Age at first use, in years.",
            recap "RECAP: âge de début de consommation; TDI 3.0: age at first use",
            column "Age at first use (years)";
        ever_injected: Option<bool> = "Whether the patient ever injected a product.",
            recap "RECAP: injection au cours de la vie; TDI 3.0: ever injected",
            column "Ever injected";
        syringe_sharing: Option<bool> = "Whether the patient ever shared injection equipment.",
            recap "RECAP: partage de seringues",
            column "Ever shared syringes";
        standard_drinks_per_day: Option<Int<0, 100>> = "Standard drinks (10 g of alcohol) on a usual day.",
            recap "RECAP: nombre de verres standard par jour",
            column "Standard drinks per day";
    }

    Consultation = "consultation" version 1, "Consultation",
        "A consultation with one of the microstructure's professionals.",
    ConsultationV1<'a> {
        professional_role: ProfessionalRole = "Who held the consultation.",
            column "Professional seen";
        #[serde(borrow)]
        professional_id: Token<'a, Professional> = "RPPS, ADELI or local identifier of the professional: 1 to 64 printable ASCII characters without spaces. Replaced by a keyed pseudonym.",
            column named "professional_pseudonym" "Pseudonym of the professional";
        mode: ConsultationMode = "How the consultation was held.",
            column "How the consultation was held";
        duration_min: Option<Int<0, 480>> = "Duration in minutes.",
            column "Duration (minutes)";
        no_show: bool = "Whether the patient did not come.",
            column "The patient did not come";
    }

    SynthesisMeeting = "synthesis_meeting" version 1, "Synthesis meeting",
        "The review of one patient at a monthly synthesis meeting (one event per patient reviewed).",
    SynthesisMeetingV1<'a> {
        #[serde(borrow)]
        meeting_id: Token<'a, Meeting> = "Identifies the meeting across the patients it reviews: 1 to 64 printable ASCII characters without spaces. Replaced by a keyed pseudonym.",
            column named "meeting_pseudonym" "Pseudonym of the meeting";
        participant_roles: Codes<ParticipantRole, 1> = "Roles present at the meeting: at least one, no duplicates.",
            column "Who took part";
        patient_present: bool = "Whether the patient attended.",
            column "The patient attended";
        decisions: Codes<MeetingDecision, 0> = "Decisions taken for the patient: possibly none, no duplicates.",
            column "Decisions for the patient";
    }

    Screening = "screening" version 1, "Screening",
        "A screening test for HIV, HCV or HBV.",
    ScreeningV1 {
        target: ScreeningTarget = "Infection screened for.",
            recap "RECAP: sérologies VIH et VHC; vaccination VHB",
            column "Infection screened for";
        test: ScreeningTest = "Kind of test.",
            column "Kind of test";
        result: ScreeningResult = "Result.",
            recap "RECAP: résultat de la sérologie",
            column "Result";
    }

    Treatment = "treatment" version 1, "Treatment",
        "A treatment started, continued, changed or stopped.",
    TreatmentV1 {
        kind: TreatmentKind = "Kind of treatment.",
            recap "RECAP: traitement de substitution aux opioïdes; autres traitements",
            column "Kind of treatment";
        molecule: Option<Molecule> = "Molecule or class prescribed.",
            recap "RECAP: TSO (méthadone, buprénorphine)",
            column "Molecule or class";
        action: TreatmentAction = "What happens to the treatment.",
            column "Start, continue, change or stop";
    }

    FollowUpEnd = "follow_up_end" version 1, "End of follow-up",
        "The end of a patient's follow-up in the microstructure.",
    FollowUpEndV1 {
        reason: EndReason = "Why follow-up ended.",
            column "Why follow-up ended";
    }

    ForfaitClaim = "forfait_claim" version 1, "Flat-rate claim",
        "The yearly flat-rate claim to the CNAM for one patient (Equip'Addict forfait), with the activity it covers.",
    ForfaitClaimV1 {
        year: Int<2019, 2099> = "Year the claim covers.",
            column named "claim_year" "Year the flat rate is claimed for";
        amount_cents: Int<0, 10_000_000> = "Amount claimed, in euro cents.",
            column "Amount claimed (euro cents)";
        status: ClaimStatus = "Status of the claim.",
            column "Claim status";
        gp_consultations: Int<0, 1000> = "GP consultations in the year.",
            column "GP consultations in the year";
        psychologist_consultations: Int<0, 1000> = "Psychologist consultations in the year.",
            column "Psychologist consultations in the year";
        social_worker_consultations: Int<0, 1000> = "Social-worker consultations in the year.",
            column "Social-worker consultations in the year";
        synthesis_meetings: Int<0, 1000> = "Synthesis meetings that reviewed the patient in the year.",
            column "Synthesis meetings in the year";
    }
}
