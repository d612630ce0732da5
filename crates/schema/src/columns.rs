//! How each payload becomes dataset columns: the column list of each event type (for
//! Arrow schemas and the data dictionary) and the code that fills them, side by side so
//! they cannot drift apart.

use crate::codes::*;
use crate::payload::{EventType, Payload};

/// The type of a dataset column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// A code from a closed list (stored as a dictionary-encoded string).
    Code(&'static [&'static str]),
    /// A list of codes from a closed list.
    CodeList(&'static [&'static str]),
    /// Free-form text produced by msma itself (pseudonyms, age bands, geography).
    Text,
    Bool,
    Int16,
    Int32,
    Int64,
    /// A calendar date.
    Date,
}

/// One column of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
    pub doc: &'static str,
}

const fn col(name: &'static str, ty: ColumnType, nullable: bool, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        nullable,
        doc,
    }
}

/// Receives the cells of one row, in column order.
pub trait CellSink {
    fn code(&mut self, v: Option<&'static str>);
    fn codes(&mut self, v: &mut dyn Iterator<Item = &'static str>);
    fn text(&mut self, v: Option<&str>);
    fn bool(&mut self, v: Option<bool>);
    fn int(&mut self, v: Option<i64>);
    /// Days since 1970-01-01.
    fn date(&mut self, v: Option<i32>);
}

macro_rules! codes {
    ($t:ty) => {
        ColumnType::Code(<$t>::CODES)
    };
}

impl EventType {
    /// The payload's columns, in the order [`Payload::write_cells`] fills them.
    pub fn payload_columns(self) -> &'static [Column] {
        use ColumnType::*;
        match self {
            EventType::PatientInclusion => {
                const {
                    &[
                        col(
                            "referral_origin",
                            codes!(ReferralOrigin),
                            false,
                            "Origin of the request for care",
                        ),
                        col("first_reason", codes!(FirstReason), false, "First reason for care"),
                        col("housing", codes!(Housing), false, "Housing"),
                        col("household", codes!(Household), true, "Household"),
                        col("main_income", codes!(MainIncome), false, "Main source of income"),
                        col(
                            "professional_activity",
                            codes!(ProfessionalActivity),
                            false,
                            "Professional situation",
                        ),
                        col("health_cover", codes!(HealthCover), true, "Health cover"),
                        col("education", codes!(Education), true, "Highest education level"),
                        col("prior_care", Bool, false, "Already cared for addiction before"),
                    ]
                }
            }
            EventType::SubstanceAssessment => {
                const {
                    &[
                        col("product", codes!(Product), false, "Product or behaviour"),
                        col("origin_of_care", Bool, false, "Product at the origin of care"),
                        col("route", codes!(Route), true, "Usual route"),
                        col(
                            "frequency_30d",
                            codes!(Frequency30d),
                            true,
                            "Frequency over the last 30 days",
                        ),
                        col("use_level", codes!(UseLevel), true, "Use, harmful use or dependence"),
                        col("age_first_use", Int16, true, "Age at first use (years)"),
                        col("ever_injected", Bool, true, "Ever injected"),
                        col("syringe_sharing", Bool, true, "Ever shared syringes"),
                        col("standard_drinks_per_day", Int16, true, "Standard drinks per day"),
                    ]
                }
            }
            EventType::Consultation => {
                const {
                    &[
                        col(
                            "professional_role",
                            codes!(ProfessionalRole),
                            false,
                            "Professional seen",
                        ),
                        col("professional_pseudonym", Text, false, "Pseudonym of the professional"),
                        col("mode", codes!(ConsultationMode), false, "How the consultation was held"),
                        col("duration_min", Int16, true, "Duration (minutes)"),
                        col("no_show", Bool, false, "The patient did not come"),
                    ]
                }
            }
            EventType::SynthesisMeeting => {
                const {
                    &[
                        col("meeting_pseudonym", Text, false, "Pseudonym of the meeting"),
                        col(
                            "participant_roles",
                            CodeList(ParticipantRole::CODES),
                            false,
                            "Who took part",
                        ),
                        col("patient_present", Bool, false, "The patient attended"),
                        col(
                            "decisions",
                            CodeList(MeetingDecision::CODES),
                            false,
                            "Decisions for the patient",
                        ),
                    ]
                }
            }
            EventType::Screening => {
                const {
                    &[
                        col("target", codes!(ScreeningTarget), false, "Infection screened for"),
                        col("test", codes!(ScreeningTest), false, "Kind of test"),
                        col("result", codes!(ScreeningResult), false, "Result"),
                    ]
                }
            }
            EventType::Treatment => {
                const {
                    &[
                        col("kind", codes!(TreatmentKind), false, "Kind of treatment"),
                        col("molecule", codes!(Molecule), true, "Molecule or class"),
                        col(
                            "action",
                            codes!(TreatmentAction),
                            false,
                            "Start, continue, change or stop",
                        ),
                    ]
                }
            }
            EventType::FollowUpEnd => const { &[col("reason", codes!(EndReason), false, "Why follow-up ended")] },
            EventType::ForfaitClaim => {
                const {
                    &[
                        col("claim_year", Int16, false, "Year the flat rate is claimed for"),
                        col("amount_cents", Int64, false, "Amount claimed (euro cents)"),
                        col("status", codes!(ClaimStatus), false, "Claim status"),
                        col("gp_consultations", Int16, false, "GP consultations in the year"),
                        col(
                            "psychologist_consultations",
                            Int16,
                            false,
                            "Psychologist consultations in the year",
                        ),
                        col(
                            "social_worker_consultations",
                            Int16,
                            false,
                            "Social-worker consultations in the year",
                        ),
                        col("synthesis_meetings", Int16, false, "Synthesis meetings in the year"),
                    ]
                }
            }
        }
    }
}

/// Identifying payload values, pseudonymised by the caller before they are written.
pub enum Linkable<'p> {
    Professional(&'p str),
    Meeting(&'p str),
}

impl Payload<'_> {
    pub fn event_type(&self) -> EventType {
        match self {
            Payload::PatientInclusion(_) => EventType::PatientInclusion,
            Payload::SubstanceAssessment(_) => EventType::SubstanceAssessment,
            Payload::Consultation(_) => EventType::Consultation,
            Payload::SynthesisMeeting(_) => EventType::SynthesisMeeting,
            Payload::Screening(_) => EventType::Screening,
            Payload::Treatment(_) => EventType::Treatment,
            Payload::FollowUpEnd(_) => EventType::FollowUpEnd,
            Payload::ForfaitClaim(_) => EventType::ForfaitClaim,
        }
    }

    /// Writes the payload's cells in the order of [`EventType::payload_columns`].
    /// `pseudonymise` turns each identifying value into its pseudonym, so that no
    /// identifier can reach a sink by this path.
    pub fn write_cells(&self, out: &mut dyn CellSink, pseudonymise: &mut dyn FnMut(Linkable) -> String) {
        match self {
            Payload::PatientInclusion(p) => {
                out.code(Some(p.referral_origin.as_str()));
                out.code(Some(p.first_reason.as_str()));
                out.code(Some(p.housing.as_str()));
                out.code(p.household.map(Household::as_str));
                out.code(Some(p.main_income.as_str()));
                out.code(Some(p.professional_activity.as_str()));
                out.code(p.health_cover.map(HealthCover::as_str));
                out.code(p.education.map(Education::as_str));
                out.bool(Some(p.prior_care));
            }
            Payload::SubstanceAssessment(p) => {
                out.code(Some(p.product.as_str()));
                out.bool(Some(p.origin_of_care));
                out.code(p.route.map(Route::as_str));
                out.code(p.frequency_30d.map(Frequency30d::as_str));
                out.code(p.use_level.map(UseLevel::as_str));
                out.int(p.age_first_use.map(|i| i.get()));
                out.bool(p.ever_injected);
                out.bool(p.syringe_sharing);
                out.int(p.standard_drinks_per_day.map(|i| i.get()));
            }
            Payload::Consultation(p) => {
                out.code(Some(p.professional_role.as_str()));
                out.text(Some(&pseudonymise(Linkable::Professional(&p.professional_id))));
                out.code(Some(p.mode.as_str()));
                out.int(p.duration_min.map(|i| i.get()));
                out.bool(Some(p.no_show));
            }
            Payload::SynthesisMeeting(p) => {
                out.text(Some(&pseudonymise(Linkable::Meeting(&p.meeting_id))));
                out.codes(&mut p.participant_roles.iter().map(|r| r.as_str()));
                out.bool(Some(p.patient_present));
                out.codes(&mut p.decisions.iter().map(|d| d.as_str()));
            }
            Payload::Screening(p) => {
                out.code(Some(p.target.as_str()));
                out.code(Some(p.test.as_str()));
                out.code(Some(p.result.as_str()));
            }
            Payload::Treatment(p) => {
                out.code(Some(p.kind.as_str()));
                out.code(p.molecule.map(Molecule::as_str));
                out.code(Some(p.action.as_str()));
            }
            Payload::FollowUpEnd(p) => out.code(Some(p.reason.as_str())),
            Payload::ForfaitClaim(p) => {
                out.int(Some(p.year.get()));
                out.int(Some(p.amount_cents.get()));
                out.code(Some(p.status.as_str()));
                out.int(Some(p.gp_consultations.get()));
                out.int(Some(p.psychologist_consultations.get()));
                out.int(Some(p.social_worker_consultations.get()));
                out.int(Some(p.synthesis_meetings.get()));
            }
        }
    }
}
