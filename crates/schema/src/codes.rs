//! Code lists, named in English snake_case, each with its meaning and the OFDT RECAP and
//! EMCDDA TDI 3.0 items it maps to. The JSON Schemas and docs/SCHEMAS.md list these
//! codes, generated from them.

/// A closed list of codes, as the contract documents it.
#[derive(Debug, PartialEq, Eq)]
pub struct CodeList {
    pub name: &'static str,
    /// Every code, in declaration order.
    pub codes: &'static [&'static str],
    pub meaning: &'static str,
    /// The RECAP item, or "none".
    pub recap: &'static str,
    /// The EMCDDA TDI 3.0 item, or "none".
    pub tdi: &'static str,
}

/// Declares a closed code list: a Copy enum that deserialises from, and prints as, its
/// code, whose `CODES` lists every code in declaration order and `LIST` documents it.
macro_rules! code_list {
    ($name:ident { meaning: $meaning:literal, recap: $recap:literal, tdi: $tdi:literal $(,)? }
     { $($variant:ident = $code:literal),+ $(,)? }) => {
        #[doc = $meaning]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        pub enum $name {
            $(#[serde(rename = $code)] $variant),+
        }

        impl $name {
            /// Every code of the list, in declaration order.
            pub const CODES: &'static [&'static str] = &[$($code),+];

            /// The list as the contract documents it.
            pub const LIST: $crate::codes::CodeList = $crate::codes::CodeList {
                name: stringify!($name),
                codes: Self::CODES,
                meaning: $meaning,
                recap: $recap,
                tdi: $tdi,
            };

            /// The code as written in events and datasets.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            /// Every value of the list, in declaration order.
            pub fn all() -> &'static [Self] {
                &[$(Self::$variant),+]
            }

            pub fn from_code(code: &str) -> Option<Self> {
                Self::all().iter().copied().find(|c| c.as_str() == code)
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
                        $name::from_code(s).ok_or_else(|| E::unknown_variant(s, $name::CODES))
                    }
                }
                d.deserialize_str(V)
            }
        }

        impl $crate::field::Value for $name {
            const RULE: $crate::field::Rule = $crate::field::Rule::Code(&Self::LIST);
            const COLUMN: $crate::dataset::ColumnType = $crate::dataset::ColumnType::Code(Self::CODES);
            fn write(
                v: Option<&Self>,
                out: &mut dyn $crate::dataset::CellSink,
                _: &mut dyn FnMut($crate::field::Domain, &str) -> String,
            ) {
                out.code(v.map(|c| c.as_str()));
            }
        }

        impl crate::field::Coded for $name {
            const LIST: &'static $crate::codes::CodeList = &Self::LIST;
            fn as_str(self) -> &'static str {
                self.as_str()
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
    Sex {
        meaning: "Administrative sex: F, M, or U for unknown / not stated.",
        recap: "sexe",
        tdi: "gender",
    } {
        Female = "F",
        Male = "M",
        Unknown = "U",
    }
}

code_list! {
    ReferralOrigin {
        meaning: "Origin of the request for care.",
        recap: "origine de la demande",
        tdi: "item 9 (source of referral)",
    } {
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
    FirstReason {
        meaning: "First reason for care in the microstructure.",
        recap: "none (CNRMS activity reports: motif de prise en charge)",
        tdi: "none",
    } {
        Addiction = "addiction",
        Precarity = "precarity",
        MentalHealth = "mental_health",
    }
}

code_list! {
    Housing {
        meaning: "Housing.",
        recap: "logement",
        tdi: "item 13 (living status: where)",
    } {
        Durable = "durable",
        Precarious = "precarious",
        Homeless = "homeless",
        Institution = "institution",
    }
}

code_list! {
    Household {
        meaning: "Household: who the patient lives with.",
        recap: "vit avec",
        tdi: "item 12 (living status: with whom)",
    } {
        Alone = "alone",
        Couple = "couple",
        CoupleWithChildren = "couple_with_children",
        AloneWithChildren = "alone_with_children",
        Parents = "parents",
        Other = "other",
    }
}

code_list! {
    MainIncome {
        meaning: "Main source of income (RSA: revenu de solidarité active; AAH: allocation aux adultes handicapés).",
        recap: "origine principale des ressources",
        tdi: "none",
    } {
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
    ProfessionalActivity {
        meaning: "Professional situation.",
        recap: "situation professionnelle",
        tdi: "item 14 (labour status)",
    } {
        Employed = "employed",
        Unemployed = "unemployed",
        Inactive = "inactive",
        Student = "student",
        Retired = "retired",
        Disability = "disability",
    }
}

code_list! {
    HealthCover {
        meaning: "Health cover (CSS: complémentaire santé solidaire; AME: aide médicale de l'État).",
        recap: "couverture sociale",
        tdi: "none",
    } {
        GeneralScheme = "general_scheme",
        Css = "css",
        Ame = "ame",
        None = "none",
        Other = "other",
    }
}

code_list! {
    Education {
        meaning: "Highest education level reached.",
        recap: "niveau d'études",
        tdi: "item 15 (highest educational level completed)",
    } {
        None = "none",
        Primary = "primary",
        Secondary = "secondary",
        Vocational = "vocational",
        Baccalaureate = "baccalaureate",
        Higher = "higher",
    }
}

code_list! {
    Product {
        meaning: "Product used or behavioural addiction (gambling, screens).",
        recap: "produits consommés et addictions sans produit",
        tdi: "item 17 (primary drug; secondary drugs use the same list)",
    } {
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
    Route {
        meaning: "Usual route of administration.",
        recap: "mode de consommation",
        tdi: "item 19 (usual route of administration)",
    } {
        Oral = "oral",
        Smoked = "smoked",
        Sniffed = "sniffed",
        Injected = "injected",
        Other = "other",
    }
}

code_list! {
    Frequency30d {
        meaning: "Frequency of use over the last 30 days.",
        recap: "fréquence de consommation (30 derniers jours)",
        tdi: "item 20 (frequency of use)",
    } {
        NotUsed = "not_used",
        LessThanWeekly = "less_than_weekly",
        Weekly = "weekly",
        SeveralPerWeek = "several_per_week",
        Daily = "daily",
    }
}

code_list! {
    UseLevel {
        meaning: "Use level.",
        recap: "usage / usage nocif (abus) / dépendance",
        tdi: "none",
    } {
        Use = "use",
        HarmfulUse = "harmful_use",
        Dependence = "dependence",
    }
}

code_list! {
    ProfessionalRole {
        meaning: "Professional who holds a consultation in a microstructure.",
        recap: "none",
        tdi: "none",
    } {
        GeneralPractitioner = "general_practitioner",
        Psychologist = "psychologist",
        SocialWorker = "social_worker",
        Psychiatrist = "psychiatrist",
    }
}

code_list! {
    ConsultationMode {
        meaning: "How a consultation was held.",
        recap: "none",
        tdi: "none",
    } {
        InPerson = "in_person",
        Phone = "phone",
        Video = "video",
        Home = "home",
    }
}

code_list! {
    ParticipantRole {
        meaning: "Who took part in a synthesis meeting.",
        recap: "none",
        tdi: "none",
    } {
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
    MeetingDecision {
        meaning: "Decision a synthesis meeting takes for the patient reviewed.",
        recap: "none",
        tdi: "none",
    } {
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
    ScreeningTarget {
        meaning: "Infection screened for.",
        recap: "sérologies VIH et VHC; vaccination VHB",
        tdi: "none",
    } {
        Hiv = "hiv",
        Hcv = "hcv",
        Hbv = "hbv",
    }
}

code_list! {
    ScreeningTest {
        meaning: "Kind of screening test (rna_pcr: viral RNA or DNA by PCR).",
        recap: "sérologie; ARN VHC",
        tdi: "none",
    } {
        Serology = "serology",
        RapidTest = "rapid_test",
        RnaPcr = "rna_pcr",
    }
}

code_list! {
    ScreeningResult {
        meaning: "Screening result.",
        recap: "résultat de la sérologie",
        tdi: "none",
    } {
        Negative = "negative",
        Positive = "positive",
        Indeterminate = "indeterminate",
        Pending = "pending",
    }
}

code_list! {
    TreatmentKind {
        meaning: "Kind of treatment.",
        recap: "traitement de substitution aux opioïdes (TSO); autres traitements",
        tdi: "none",
    } {
        OpioidSubstitution = "opioid_substitution",
        HcvAntiviral = "hcv_antiviral",
        HivArt = "hiv_art",
        Psychotropic = "psychotropic",
        AlcoholPharmacotherapy = "alcohol_pharmacotherapy",
        NicotineReplacement = "nicotine_replacement",
    }
}

code_list! {
    Molecule {
        meaning: "Molecule or class prescribed.",
        recap: "TSO: méthadone, buprénorphine; autres traitements",
        tdi: "none",
    } {
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
    TreatmentAction {
        meaning: "What happens to the treatment.",
        recap: "none",
        tdi: "none",
    } {
        Start = "start",
        Continue = "continue",
        Change = "change",
        Stop = "stop",
    }
}

code_list! {
    EndReason {
        meaning: "Why follow-up ended.",
        recap: "none (CNRMS activity reports: motif de fin de suivi)",
        tdi: "none",
    } {
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
    ClaimStatus {
        meaning: "Status of a yearly flat-rate claim to the CNAM.",
        recap: "none",
        tdi: "none",
    } {
        Submitted = "submitted",
        Accepted = "accepted",
        Paid = "paid",
        Rejected = "rejected",
    }
}
