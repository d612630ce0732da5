//! Code lists, named in English snake_case. The mapping to OFDT RECAP and EMCDDA TDI
//! items is documented in `docs/SCHEMAS.md`; the JSON Schemas under `schemas/` list
//! exactly these codes (a test checks it).

/// Declares a closed code list: a Copy enum that deserialises from, and prints as, its
/// code, and whose `CODES` lists every code in declaration order.
macro_rules! code_list {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        pub enum $name {
            $(#[serde(rename = $code)] $variant),+
        }

        impl $name {
            /// Every code of the list, in declaration order.
            pub const CODES: &'static [&'static str] = &[$($code),+];

            /// The code as written in events and datasets.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            /// Every value of the list, in declaration order.
            pub fn all() -> &'static [Self] {
                &[$(Self::$variant),+]
            }
        }

        /// From a JSON string only: serde's derive would also take `{"code": null}`.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "one of {:?}", $name::CODES)
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$name, E> {
                        $name::all()
                            .iter()
                            .copied()
                            .find(|c| c.as_str() == s)
                            .ok_or_else(|| E::unknown_variant(s, $name::CODES))
                    }
                }
                d.deserialize_str(V)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_list! {
    /// Administrative sex (RECAP "sexe"): F, M, or U for unknown / not stated.
    Sex { Female = "F", Male = "M", Unknown = "U" }
}

code_list! {
    /// Origin of the request for care (RECAP "origine de la demande", TDI item 9).
    ReferralOrigin {
        SelfOrFamily = "self_or_family",
        GeneralPractitioner = "general_practitioner",
        Csapa = "csapa",
        Caarud = "caarud",
        Hospital = "hospital",
        Psychiatry = "psychiatry",
        SocialServices = "social_services",
        Justice = "justice",
        Other = "other",
    }
}

code_list! {
    /// First reason for care in the microstructure (seed figure 5).
    FirstReason { Addiction = "addiction", Precarity = "precarity", MentalHealth = "mental_health" }
}

code_list! {
    /// Housing (RECAP "logement", TDI item 13).
    Housing { Durable = "durable", Precarious = "precarious", Homeless = "homeless", Institution = "institution" }
}

code_list! {
    /// Household (RECAP "vit avec", TDI item 12).
    Household {
        Alone = "alone",
        Couple = "couple",
        CoupleWithChildren = "couple_with_children",
        AloneWithChildren = "alone_with_children",
        Parents = "parents",
        Other = "other",
    }
}

code_list! {
    /// Main source of income (RECAP "origine principale des ressources").
    MainIncome {
        Employment = "employment",
        UnemploymentBenefit = "unemployment_benefit",
        Rsa = "rsa",
        Aah = "aah",
        OtherBenefits = "other_benefits",
        ThirdParty = "third_party",
        None = "none",
        Other = "other",
    }
}

code_list! {
    /// Professional situation (RECAP "situation professionnelle", TDI item 14).
    ProfessionalActivity {
        Employed = "employed",
        Unemployed = "unemployed",
        Inactive = "inactive",
        Student = "student",
        Retired = "retired",
        Disability = "disability",
    }
}

code_list! {
    /// Health cover (RECAP "couverture sociale").
    HealthCover {
        GeneralScheme = "general_scheme",
        Css = "css",
        Ame = "ame",
        None = "none",
        Other = "other",
    }
}

code_list! {
    /// Highest education level (RECAP "niveau d'études", TDI item 15).
    Education {
        None = "none",
        Primary = "primary",
        Secondary = "secondary",
        Vocational = "vocational",
        Baccalaureate = "baccalaureate",
        Higher = "higher",
    }
}

code_list! {
    /// Products and behavioural addictions (RECAP "produits", TDI item 17).
    Product {
        Alcohol = "alcohol",
        Tobacco = "tobacco",
        Cannabis = "cannabis",
        Heroin = "heroin",
        BuprenorphineMisused = "buprenorphine_misused",
        MethadoneMisused = "methadone_misused",
        OtherOpioids = "other_opioids",
        Cocaine = "cocaine",
        Crack = "crack",
        Amphetamines = "amphetamines",
        Mdma = "mdma",
        Hallucinogens = "hallucinogens",
        Benzodiazepines = "benzodiazepines",
        OtherSubstance = "other_substance",
        Gambling = "gambling",
        Screens = "screens",
    }
}

code_list! {
    /// Usual route of administration (TDI item 19).
    Route { Oral = "oral", Smoked = "smoked", Sniffed = "sniffed", Injected = "injected", Other = "other" }
}

code_list! {
    /// Frequency of use over the last 30 days (TDI item 20).
    Frequency30d {
        NotUsed = "not_used",
        LessThanWeekly = "less_than_weekly",
        Weekly = "weekly",
        SeveralPerWeek = "several_per_week",
        Daily = "daily",
    }
}

code_list! {
    /// Use level (RECAP "usage / abus / dépendance").
    UseLevel { Use = "use", HarmfulUse = "harmful_use", Dependence = "dependence" }
}

code_list! {
    /// Professionals who hold consultations in a microstructure.
    ProfessionalRole {
        GeneralPractitioner = "general_practitioner",
        Psychologist = "psychologist",
        SocialWorker = "social_worker",
        Psychiatrist = "psychiatrist",
    }
}

code_list! {
    /// How a consultation was held.
    ConsultationMode { InPerson = "in_person", Phone = "phone", Video = "video", Home = "home" }
}

code_list! {
    /// Who took part in a synthesis meeting.
    ParticipantRole {
        GeneralPractitioner = "general_practitioner",
        Psychologist = "psychologist",
        SocialWorker = "social_worker",
        Psychiatrist = "psychiatrist",
        Coordinator = "coordinator",
        CsapaStaff = "csapa_staff",
        Patient = "patient",
        OtherCarer = "other_carer",
    }
}

code_list! {
    /// Decisions a synthesis meeting takes for the patient reviewed.
    MeetingDecision {
        ContinueFollowUp = "continue_follow_up",
        ReferCsapa = "refer_csapa",
        ReferPsychiatry = "refer_psychiatry",
        ReferHospital = "refer_hospital",
        StartTreatment = "start_treatment",
        AdjustTreatment = "adjust_treatment",
        SocialSupport = "social_support",
        HousingApplication = "housing_application",
        ProposeScreening = "propose_screening",
        EndFollowUp = "end_follow_up",
    }
}

code_list! {
    /// Infection screened for (RECAP serology items).
    ScreeningTarget { Hiv = "hiv", Hcv = "hcv", Hbv = "hbv" }
}

code_list! {
    /// Kind of screening test.
    ScreeningTest { Serology = "serology", RapidTest = "rapid_test", RnaPcr = "rna_pcr" }
}

code_list! {
    /// Screening result.
    ScreeningResult { Negative = "negative", Positive = "positive", Indeterminate = "indeterminate", Pending = "pending" }
}

code_list! {
    /// Kind of treatment (RECAP "traitement de substitution", "autres traitements").
    TreatmentKind {
        OpioidSubstitution = "opioid_substitution",
        HcvAntiviral = "hcv_antiviral",
        HivArt = "hiv_art",
        Psychotropic = "psychotropic",
        AlcoholPharmacotherapy = "alcohol_pharmacotherapy",
        NicotineReplacement = "nicotine_replacement",
    }
}

code_list! {
    /// Molecule or class prescribed.
    Molecule {
        Methadone = "methadone",
        Buprenorphine = "buprenorphine",
        BuprenorphineNaloxone = "buprenorphine_naloxone",
        SofosbuvirVelpatasvir = "sofosbuvir_velpatasvir",
        GlecaprevirPibrentasvir = "glecaprevir_pibrentasvir",
        Antiretroviral = "antiretroviral",
        Acamprosate = "acamprosate",
        Naltrexone = "naltrexone",
        Nalmefene = "nalmefene",
        Baclofen = "baclofen",
        Disulfiram = "disulfiram",
        Nicotine = "nicotine",
        Antidepressant = "antidepressant",
        Anxiolytic = "anxiolytic",
        Antipsychotic = "antipsychotic",
        Other = "other",
    }
}

code_list! {
    /// What happens to the treatment.
    TreatmentAction { Start = "start", Continue = "continue", Change = "change", Stop = "stop" }
}

code_list! {
    /// Why follow-up ended.
    EndReason {
        GoalsMet = "goals_met",
        ReferredElsewhere = "referred_elsewhere",
        LostToFollowUp = "lost_to_follow_up",
        Moved = "moved",
        Incarcerated = "incarcerated",
        Hospitalised = "hospitalised",
        Died = "died",
        Refused = "refused",
    }
}

code_list! {
    /// Status of a yearly flat-rate claim to the CNAM.
    ClaimStatus { Submitted = "submitted", Accepted = "accepted", Paid = "paid", Rejected = "rejected" }
}
