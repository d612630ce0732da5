//! Direct identifiers of a synthetic patient: names, INS (NIR), phone and email. All
//! invented; the formats are the real French ones, so that the leak scanner and the
//! pseudonymiser meet what they will meet in production.

use crate::calendar::push2;
use crate::geo::Network;
use crate::rng::Rng;
use chrono::{Datelike, NaiveDate};

/// Surnames common everywhere in France.
#[rustfmt::skip]
const LAST_COMMON: &[&str] = &[
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier",
    "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Lefèvre",
    "Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand",
    "Gauthier", "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu",
    "Masson", "Marchand", "Duval", "Denis", "Dumont", "Lemaire", "Noël", "Dufour", "Meunier",
    "Brun", "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier",
    "Arnaud", "Gérard", "Roche", "Renard", "Roy", "Colin", "Vidal", "Caron", "Picard", "Roger",
    "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier", "Philippe", "Bourgeois", "Pierre",
    "Benoît", "Leclerc", "Guillaume", "Lecomte", "Hubert", "Berger", "Carpentier", "Moulin",
    "Louis", "Deschamps", "Huet", "Fleury", "Adam", "Poirier", "Aubry", "Guyot", "Carré", "Charles",
    "Renault", "Ménard", "Maillard", "Baron", "Bailly", "Hervé", "Le Gall", "Léger", "Bouvier",
    "Julien", "Prévost", "Millet", "Perrot", "Cousin", "Germain", "Besson", "Langlois", "Rémy",
    "Pelletier", "Lévêque", "Leblanc", "Barré", "Lebrun", "Mallet", "Benali", "Haddad", "Mansouri",
    "Belkacem", "Amrani", "Cherif", "Bouzid", "Diallo", "Traoré", "N'Diaye", "Nguyen", "Da Silva",
    "Ferreira", "Dos Santos", "Rodrigues",
];

/// Regional surnames: north-east (Alsace, Lorraine, Franche-Comté), north, south,
/// Île-de-France (indexed by [`Network::name_region`]).
#[rustfmt::skip]
const LAST_REGIONAL: [&[&str]; 4] = [
    &[
        "Muller", "Schmitt", "Meyer", "Weber", "Klein", "Schneider", "Fischer", "Wagner", "Koch",
        "Hoffmann", "Haas", "Kieffer", "Walter", "Zimmermann", "Schaeffer", "Wolff", "Keller",
        "Becker", "Jung", "Fuchs", "Kuntz", "Marchal", "Hartmann", "Braun",
    ],
    &[
        "Lefebvre", "Leclercq", "Delattre", "Vandamme", "Dewaele", "Lemaire", "Delannoy",
        "Dhainaut", "Caron", "Carlier", "Vasseur", "Duhamel", "Lecomte", "Delcroix", "Desmet",
        "Leleu", "Dupuis", "Hennion", "Delmotte", "Boulanger",
    ],
    &[
        "Garcia", "Martinez", "Lopez", "Fabre", "Sanchez", "Perez", "Fernandez", "Gonzalez", "Roux",
        "Bonnet", "Rey", "Marty", "Blanc", "Olive", "Pons", "Castel", "Ricard", "Bertrand",
        "Arnaud", "Giraud", "Mas", "Serre", "Santini", "Orsini",
    ],
    &[
        "Dupuy", "Lefort", "Lemaître", "Barbier", "Collet", "Marie", "Breton", "Le Roux", "Le Goff",
        "Tessier", "Bakari", "Camara", "Keita", "Sissoko", "Benchikh", "Haddad", "Pereira", "Tran",
        "Chen", "Ben Ahmed",
    ],
];

#[rustfmt::skip]
const FIRST_F: &[&str] = &[
    "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Sandrine", "Valérie", "Christine",
    "Véronique", "Stéphanie", "Céline", "Sophie", "Laurence", "Virginie", "Karine", "Aurélie",
    "Émilie", "Julie", "Caroline", "Séverine", "Audrey", "Mélanie", "Élodie", "Laetitia", "Nadia",
    "Fatima", "Samia", "Leïla", "Amandine", "Jessica", "Vanessa", "Sabrina", "Magali", "Corinne",
    "Martine", "Patricia", "Brigitte", "Monique", "Françoise", "Chantal", "Anne", "Hélène",
    "Claire", "Pauline", "Camille", "Sarah", "Laura", "Manon", "Marion", "Charlotte", "Anaïs",
    "Lucie", "Delphine", "Carole", "Florence", "Agnès", "Muriel", "Myriam", "Nadine", "Anne-Sophie",
    "Marie-Christine", "Océane", "Inès", "Aïcha",
];

#[rustfmt::skip]
const FIRST_M: &[&str] = &[
    "Jean", "Pierre", "Michel", "Philippe", "Alain", "Nicolas", "Christophe", "Patrick", "Laurent",
    "Stéphane", "David", "Sébastien", "Frédéric", "Olivier", "Éric", "Thierry", "Pascal", "Julien",
    "Guillaume", "Jérôme", "Franck", "Vincent", "Thomas", "Mathieu", "Cédric", "Damien", "Kevin",
    "Anthony", "Romain", "Maxime", "Alexandre", "Yannick", "Fabrice", "Didier", "Bruno", "Lionel",
    "Ludovic", "Mickaël", "Karim", "Mohamed", "Samir", "Mehdi", "Rachid", "Sofiane", "Dylan",
    "Florian", "Jordan", "Benjamin", "Antoine", "Hugo", "Lucas", "Quentin", "Arnaud", "Grégory",
    "Gilles", "Hervé", "Yves", "Daniel", "Joël", "Bernard", "Serge", "Marc", "Jean-Pierre",
    "Jean-Luc", "Moussa", "Loïc",
];

/// Countries of birth as coded in the NIR (département 99, then the INSEE country code).
const COUNTRIES: &[&str] = &["350", "351", "352", "109", "131", "139", "127", "134", "341", "122"];

const MAIL_DOMAINS: &[&str] = &[
    "example.fr",
    "example.com",
    "example.org",
    "mail.test",
    "courriel.test",
    "fai.invalid",
];

/// The identity the network's software holds for a patient who is not anonymous.
pub struct Identity {
    pub last_name: String,
    pub first_name: &'static str,
    pub ins: Option<[u8; 15]>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl Identity {
    pub fn draw(rng: &mut Rng, net: &Network, female: bool, birth: NaiveDate, dept: &str) -> Self {
        let surnames = if rng.chance(0.3) {
            LAST_REGIONAL[net.name_region]
        } else {
            LAST_COMMON
        };
        let last = *rng.pick(surnames);
        let first = *rng.pick(if female { FIRST_F } else { FIRST_M });
        // Some software keeps surnames in capitals.
        let last_name = if rng.chance(0.2) {
            last.to_uppercase()
        } else {
            last.to_owned()
        };
        let ins = rng.chance(0.9).then(|| nir(rng, female, birth, dept));
        let phone = rng.chance(0.85).then(|| phone(rng, net.phone_zone));
        let email = rng
            .chance(0.6)
            .then(|| email(rng, first, last, birth.year() as u32 % 100));
        Self {
            last_name,
            first_name: first,
            ins,
            phone,
            email,
        }
    }
}

/// A NIR: sex, year and month of birth, département and commune of birth, order
/// number, and the key `97 - (number mod 97)` computed with 2A -> 19, 2B -> 18.
pub fn nir(rng: &mut Rng, female: bool, birth: NaiveDate, home_dept: &str) -> [u8; 15] {
    let mut s = String::with_capacity(15);
    s.push(if female { '2' } else { '1' });
    push2(&mut s, birth.year() as u32 % 100);
    push2(&mut s, birth.month());
    // Born in the département of residence, elsewhere in metropolitan France, in
    // Corsica (2A/2B), overseas (97x) or abroad (99 and the country code).
    let (dept, commune): (String, u32) = match rng.below(100) {
        0..55 if home_dept.len() == 2 => (home_dept.to_owned(), rng.range(1, 700)),
        0..88 => match rng.range(1, 95) {
            20 => ("2A".to_owned(), rng.range(1, 360)),
            n => (format!("{n:02}"), rng.range(1, 700)),
        },
        88..90 => (if rng.chance(0.5) { "2A" } else { "2B" }.to_owned(), rng.range(1, 360)),
        90..92 => ("97".to_owned(), rng.range(1, 4) * 100 + rng.range(1, 34)),
        _ => ("99".to_owned(), rng.pick(COUNTRIES).parse().expect("country code")),
    };
    s.push_str(&dept);
    s.push_str(&format!("{commune:03}{:03}", rng.range(1, 999)));
    let key = nir_key(&s);
    push2(&mut s, key);
    s.into_bytes().try_into().expect("a NIR has 15 characters")
}

/// The NIR key of the 13 first characters.
pub fn nir_key(first13: &str) -> u32 {
    let digits = first13.replacen("2A", "19", 1).replacen("2B", "18", 1);
    let n: u64 = digits.parse().expect("13 digits");
    97 - (n % 97) as u32
}

/// A French number matching `^(\+33|0033|0)[1-9]([ .-]?[0-9]{2}){4}$`, written the
/// ways people write them.
fn phone(rng: &mut Rng, zone: u8) -> String {
    let lead = if rng.chance(0.85) {
        if rng.chance(0.7) { 6 } else { 7 }
    } else {
        u32::from(zone)
    };
    let mut pairs = [0u32; 4];
    for p in &mut pairs {
        *p = rng.range(0, 99);
    }
    if lead == 7 {
        pairs[0] = rng.range(30, 99);
    }
    let (prefix, sep) = match rng.below(100) {
        0..40 => ("0", " "),
        40..70 => ("0", ""),
        70..80 => ("0", "."),
        80..85 => ("0", "-"),
        85..95 => ("+33", ""),
        _ => ("0033", " "),
    };
    let mut s = String::with_capacity(18);
    s.push_str(prefix);
    s.push((b'0' + lead as u8) as char);
    for p in pairs {
        s.push_str(sep);
        push2(&mut s, p);
    }
    s
}

fn email(rng: &mut Rng, first: &str, last: &str, yy: u32) -> String {
    let (f, l) = (ascii_fold(first), ascii_fold(last));
    let domain = rng.pick(MAIL_DOMAINS);
    match rng.below(4) {
        0 => format!("{f}.{l}@{domain}"),
        1 => format!("{f}{l}{}@{domain}", rng.range(1, 99)),
        2 => format!("{}.{l}@{domain}", &f[..1]),
        _ => format!("{l}.{f}{yy:02}@{domain}"),
    }
}

/// Lowercase ASCII for an email address: accents dropped, spaces and apostrophes removed.
fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'â' | 'ä' => out.push('a'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'î' | 'ï' => out.push('i'),
            'ô' | 'ö' => out.push('o'),
            'ù' | 'û' | 'ü' => out.push('u'),
            'ç' => out.push('c'),
            'a'..='z' | '-' => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::NETWORKS;

    #[test]
    fn nir_keys_and_formats() {
        // 2A counts as 19: key of "1850519..." equals key of "185052A...".
        assert_eq!(nir_key("185052A006084"), nir_key("1850519006084"));
        assert_eq!(nir_key("2550899025001"), 97 - (2_550_899_025_001u64 % 97) as u32);
        let mut rng = Rng::new(3);
        let birth = NaiveDate::from_ymd_opt(1978, 11, 3).unwrap();
        for i in 0..2000 {
            let net = &NETWORKS[i % NETWORKS.len()];
            let id = Identity::draw(&mut rng, net, i % 2 == 0, birth, "67");
            if let Some(ins) = id.ins {
                let s = std::str::from_utf8(&ins).unwrap();
                assert_eq!(&s[1..5], "7811");
                assert_eq!(s[13..].parse::<u32>().unwrap(), nir_key(&s[..13]));
                assert_eq!(&s[..1], if i % 2 == 0 { "2" } else { "1" });
            }
            if let Some(e) = &id.email {
                assert!(e.is_ascii() && e.contains('@') && !e.contains(' '), "{e}");
            }
            if let Some(p) = &id.phone {
                let digits: String = p.chars().filter(char::is_ascii_digit).collect();
                assert!(matches!(digits.len(), 10..=13), "{p}");
            }
        }
    }
}
