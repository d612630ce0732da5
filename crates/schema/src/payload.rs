//! Payloads, one struct per event type and schema version. Each mirrors
//! `schemas/<event_type>/v<N>.schema.json`: unknown fields are rejected, optional
//! fields may be absent or null, integers carry their bounds.

use crate::codes::*;
use crate::int::Int;
use crate::strict::{from_object, json_rejection};
use serde::Deserialize;
use std::borrow::Cow;

/// Patient included in a microstructure's active file (RECAP socio-demographic items).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientInclusionV1 {
    pub referral_origin: ReferralOrigin,
    pub first_reason: FirstReason,
    pub housing: Housing,
    pub household: Option<Household>,
    pub main_income: MainIncome,
    pub professional_activity: ProfessionalActivity,
    pub health_cover: Option<HealthCover>,
    pub education: Option<Education>,
    pub prior_care: bool,
}

/// One product or behaviour assessed for the patient (RECAP product items, TDI 17-24).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubstanceAssessmentV1 {
    pub product: Product,
    pub origin_of_care: bool,
    pub route: Option<Route>,
    pub frequency_30d: Option<Frequency30d>,
    pub use_level: Option<UseLevel>,
    pub age_first_use: Option<Int<5, 99>>,
    pub ever_injected: Option<bool>,
    pub syringe_sharing: Option<bool>,
    pub standard_drinks_per_day: Option<Int<0, 100>>,
}

/// A consultation with one of the microstructure's professionals.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsultationV1<'a> {
    pub professional_role: ProfessionalRole,
    /// RPPS, ADELI or local identifier of the professional: pseudonymised.
    #[serde(borrow)]
    pub professional_id: Cow<'a, str>,
    pub mode: ConsultationMode,
    pub duration_min: Option<Int<0, 480>>,
    pub no_show: bool,
}

/// The review of one patient at a monthly synthesis meeting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthesisMeetingV1<'a> {
    /// Identifies the meeting across the patients it reviews: pseudonymised.
    #[serde(borrow)]
    pub meeting_id: Cow<'a, str>,
    pub participant_roles: Vec<ParticipantRole>,
    pub patient_present: bool,
    pub decisions: Vec<MeetingDecision>,
}

/// A screening test for HIV, HCV or HBV.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningV1 {
    pub target: ScreeningTarget,
    pub test: ScreeningTest,
    pub result: ScreeningResult,
}

/// A treatment started, continued, changed or stopped.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreatmentV1 {
    pub kind: TreatmentKind,
    pub molecule: Option<Molecule>,
    pub action: TreatmentAction,
}

/// The end of a patient's follow-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpEndV1 {
    pub reason: EndReason,
}

/// The yearly flat-rate claim for one patient (Equip'Addict forfait).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForfaitClaimV1 {
    pub year: Int<2019, 2099>,
    pub amount_cents: Int<0, 10_000_000>,
    pub status: ClaimStatus,
    pub gp_consultations: Int<0, 1000>,
    pub psychologist_consultations: Int<0, 1000>,
    pub social_worker_consultations: Int<0, 1000>,
    pub synthesis_meetings: Int<0, 1000>,
}

/// A decoded payload.
#[derive(Debug, Clone)]
pub enum Payload<'a> {
    PatientInclusion(PatientInclusionV1),
    SubstanceAssessment(SubstanceAssessmentV1),
    Consultation(ConsultationV1<'a>),
    SynthesisMeeting(SynthesisMeetingV1<'a>),
    Screening(ScreeningV1),
    Treatment(TreatmentV1),
    FollowUpEnd(FollowUpEndV1),
    ForfaitClaim(ForfaitClaimV1),
}

impl<'a> Payload<'a> {
    /// Decodes the payload of an event of the given type and version. `None` when that
    /// version of that type does not exist.
    pub(crate) fn decode(
        event_type: EventType,
        version: u16,
        json: &'a str,
        offset: usize,
    ) -> Option<Result<Self, String>> {
        use EventType as T;
        fn de<'a, P: Deserialize<'a>>(json: &'a str, offset: usize) -> Result<P, String> {
            from_object(json).map_err(|e| json_rejection::<P>(json, offset, "payload", e).detail)
        }
        if version != 1 {
            return None;
        }
        Some(match event_type {
            T::PatientInclusion => de(json, offset).map(Self::PatientInclusion),
            T::SubstanceAssessment => de(json, offset).map(Self::SubstanceAssessment),
            T::Consultation => de(json, offset).and_then(|p: ConsultationV1| {
                check_token("payload.professional_id", &p.professional_id)?;
                Ok(Self::Consultation(p))
            }),
            T::SynthesisMeeting => de(json, offset).and_then(|p: SynthesisMeetingV1| {
                check_token("payload.meeting_id", &p.meeting_id)?;
                if p.participant_roles.is_empty() {
                    return Err("payload.participant_roles: at least one role expected".into());
                }
                unique("payload.participant_roles", &p.participant_roles)?;
                unique("payload.decisions", &p.decisions)?;
                Ok(Self::SynthesisMeeting(p))
            }),
            T::Screening => de(json, offset).map(Self::Screening),
            T::Treatment => de(json, offset).map(Self::Treatment),
            T::FollowUpEnd => de(json, offset).map(Self::FollowUpEnd),
            T::ForfaitClaim => de(json, offset).map(Self::ForfaitClaim),
        })
    }
}

fn check_token(field: &str, s: &str) -> Result<(), String> {
    if crate::checks::token(s) {
        Ok(())
    } else {
        Err(format!(
            "{field}: expected 1 to 64 printable ASCII characters without spaces"
        ))
    }
}

fn unique<T: Ord + Copy>(field: &str, items: &[T]) -> Result<(), String> {
    let mut sorted = items.to_vec();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        Err(format!("{field}: items must be unique"))
    } else {
        Ok(())
    }
}

code_list! {
    /// The event types, each a dataset of its own.
    EventType {
        PatientInclusion = "patient_inclusion",
        SubstanceAssessment = "substance_assessment",
        Consultation = "consultation",
        SynthesisMeeting = "synthesis_meeting",
        Screening = "screening",
        Treatment = "treatment",
        FollowUpEnd = "follow_up_end",
        ForfaitClaim = "forfait_claim",
    }
}

impl EventType {
    /// The schema versions this build understands, oldest first.
    pub fn versions(self) -> &'static [u16] {
        &[1]
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::all().iter().copied().find(|t| t.as_str() == code)
    }
}
