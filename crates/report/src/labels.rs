//! Words for codes: what a reader of a report sees instead of `unemployment_benefit`.

/// A code as words: acronyms in capitals, the rest sentence case.
pub fn code(code: &str) -> String {
    const ACRONYMS: &[(&str, &str)] = &[
        ("rsa", "RSA (minimum income)"),
        ("aah", "AAH (disability allowance)"),
        ("csapa", "CSAPA"),
        ("caarud", "CAARUD"),
        ("mdma", "MDMA"),
        ("general_practitioner", "GP"),
    ];
    if let Some((_, label)) = ACRONYMS.iter().find(|(c, _)| *c == code) {
        return (*label).to_string();
    }
    let words = code.replace('_', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The INSEE regions, in code order.
pub const REGIONS: &[(&str, &str)] = &[
    ("01", "Guadeloupe"),
    ("02", "Martinique"),
    ("03", "Guyane"),
    ("04", "La Réunion"),
    ("06", "Mayotte"),
    ("11", "Île-de-France"),
    ("24", "Centre-Val de Loire"),
    ("27", "Bourgogne-Franche-Comté"),
    ("28", "Normandie"),
    ("32", "Hauts-de-France"),
    ("44", "Grand Est"),
    ("52", "Pays de la Loire"),
    ("53", "Bretagne"),
    ("75", "Nouvelle-Aquitaine"),
    ("76", "Occitanie"),
    ("84", "Auvergne-Rhône-Alpes"),
    ("93", "Provence-Alpes-Côte d'Azur"),
    ("94", "Corse"),
];

/// The name of an INSEE region code.
pub fn region(code: &str) -> String {
    match REGIONS.iter().find(|(c, _)| *c == code) {
        Some((_, name)) => format!("{name} ({code})"),
        None => format!("Region {code}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_read_as_words() {
        assert_eq!(super::code("unemployment_benefit"), "Unemployment benefit");
        assert_eq!(super::code("rsa"), "RSA (minimum income)");
        assert_eq!(super::region("44"), "Grand Est (44)");
        assert_eq!(super::region("99"), "Region 99");
    }
}
