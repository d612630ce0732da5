//! Geography: the regional networks (RMS), where their microstructures are, and real
//! postcodes of the départements their patients live in.

use crate::rng::Rng;

pub struct Network {
    pub code: &'static str,
    /// Microstructures in the network (reseaux-rms.org, 2023; PACA is the remainder of
    /// the 142 counted nationally).
    pub microstructures: u32,
    /// Départements where its microstructures are, with weights.
    pub depts: &'static [(&'static str, u32)],
    /// Neighbouring départements a few patients come from.
    pub neighbours: &'static [&'static str],
    /// First digit of local landline numbers (01 Île-de-France, 03 north-east, 04 south-east).
    pub phone_zone: u8,
    /// Index into the regional surname lists of [`crate::identity`].
    pub name_region: usize,
}

pub const NETWORKS: [Network; 7] = [
    Network {
        code: "RMS-ALSACE",
        microstructures: 16,
        depts: &[("67", 55), ("68", 45)],
        neighbours: &["57", "88", "90"],
        phone_zone: 3,
        name_region: 0,
    },
    Network {
        code: "RMS-PACA",
        microstructures: 25,
        depts: &[("13", 45), ("83", 20), ("84", 15), ("06", 20)],
        neighbours: &["04", "05", "30", "26"],
        phone_zone: 4,
        name_region: 2,
    },
    Network {
        code: "RMS-GRAND-EST",
        microstructures: 26,
        depts: &[
            ("57", 30),
            ("54", 25),
            ("51", 18),
            ("88", 10),
            ("10", 7),
            ("08", 5),
            ("52", 3),
            ("55", 2),
        ],
        neighbours: &["67", "70", "02", "21"],
        phone_zone: 3,
        name_region: 0,
    },
    Network {
        code: "RMS-HDF",
        microstructures: 27,
        depts: &[("59", 45), ("62", 30), ("80", 10), ("02", 8), ("60", 7)],
        neighbours: &["08", "76", "95", "51"],
        phone_zone: 3,
        name_region: 1,
    },
    Network {
        code: "RMS-IDF",
        microstructures: 21,
        depts: &[
            ("75", 35),
            ("93", 20),
            ("94", 15),
            ("92", 12),
            ("91", 8),
            ("95", 5),
            ("77", 5),
        ],
        neighbours: &["60", "28", "45", "27"],
        phone_zone: 1,
        name_region: 3,
    },
    Network {
        code: "RMS-BFC",
        microstructures: 12,
        depts: &[("21", 30), ("25", 30), ("71", 15), ("89", 10), ("90", 10), ("39", 5)],
        neighbours: &["68", "52", "03", "01"],
        phone_zone: 3,
        name_region: 0,
    },
    Network {
        code: "RMS-OCCITANIE",
        microstructures: 15,
        depts: &[("31", 35), ("34", 30), ("30", 15), ("66", 12), ("11", 8)],
        neighbours: &["81", "82", "09", "13", "84", "47"],
        phone_zone: 4,
        name_region: 2,
    },
];

/// Real postcodes per département (main towns; a postcode follows its distribution
/// office, so it may serve several communes).
#[rustfmt::skip]
const POSTCODES: &[(&str, &[&str])] = &[
    ("67", &["67000", "67100", "67200", "67300", "67400", "67500", "67600", "67700", "67120", "67800", "67380", "67540", "67210", "67150", "67160", "67110"]),
    ("68", &["68100", "68200", "68000", "68300", "68500", "68700", "68400", "68270", "68800", "68260", "68390", "68130", "68600", "68150"]),
    ("57", &["57000", "57050", "57070", "57100", "57200", "57400", "57600", "57500", "57300", "57700", "57800", "57150"]),
    ("54", &["54000", "54100", "54500", "54400", "54300", "54200", "54600", "54150", "54700", "54140"]),
    ("51", &["51100", "51000", "51200", "51300", "51430"]),
    ("88", &["88000", "88100", "88300", "88200", "88150"]),
    ("10", &["10000", "10300", "10100"]),
    ("08", &["08000", "08200", "08300"]),
    ("52", &["52000", "52100", "52200"]),
    ("55", &["55000", "55100"]),
    ("13", &["13001", "13003", "13004", "13005", "13008", "13010", "13013", "13014", "13015", "13100", "13090", "13200", "13300", "13500", "13400", "13127", "13800", "13600"]),
    ("83", &["83000", "83100", "83200", "83300", "83400", "83500", "83600", "83700", "83130", "83160"]),
    ("84", &["84000", "84100", "84200", "84300", "84120", "84500", "84400"]),
    ("06", &["06000", "06100", "06200", "06300", "06400", "06600", "06800", "06130", "06500", "06700"]),
    ("04", &["04000", "04100", "04200"]),
    ("05", &["05000", "05100"]),
    ("30", &["30000", "30900", "30100", "30200", "30400", "30300"]),
    ("26", &["26000", "26200", "26100"]),
    ("59", &["59000", "59800", "59160", "59100", "59200", "59300", "59400", "59140", "59500", "59600", "59650", "59700", "59280"]),
    ("62", &["62000", "62100", "62200", "62300", "62400", "62500", "62800", "62110"]),
    ("80", &["80000", "80080", "80090", "80100", "80200"]),
    ("02", &["02100", "02000", "02200", "02300", "02400"]),
    ("60", &["60000", "60100", "60200", "60300", "60180"]),
    ("76", &["76000", "76600", "76200"]),
    ("75", &["75010", "75011", "75012", "75013", "75014", "75015", "75017", "75018", "75019", "75020", "75005", "75003"]),
    ("93", &["93200", "93100", "93300", "93000", "93500", "93400", "93600", "93800", "93140", "93130", "93160"]),
    ("94", &["94000", "94200", "94400", "94300", "94100", "94500", "94800", "94120", "94700"]),
    ("92", &["92000", "92100", "92200", "92300", "92400", "92600", "92700", "92230", "92120"]),
    ("91", &["91000", "91100", "91300", "91200", "91120", "91600", "91700"]),
    ("95", &["95000", "95100", "95200", "95400", "95300"]),
    ("77", &["77000", "77100", "77200", "77300", "77500"]),
    ("28", &["28000", "28100"]),
    ("45", &["45000", "45100", "45200"]),
    ("27", &["27000", "27200"]),
    ("21", &["21000", "21300", "21200", "21800", "21121", "21500", "21400"]),
    ("25", &["25000", "25200", "25300", "25400", "25700", "25600"]),
    ("71", &["71000", "71100", "71200", "71300", "71400", "71600"]),
    ("89", &["89000", "89100", "89300", "89200"]),
    ("90", &["90000", "90300", "90400", "90100"]),
    ("39", &["39000", "39100", "39200"]),
    ("70", &["70000", "70200", "70300"]),
    ("03", &["03100", "03000", "03200"]),
    ("01", &["01000", "01100"]),
    ("31", &["31000", "31100", "31200", "31300", "31400", "31500", "31700", "31770", "31120", "31800", "31600", "31130"]),
    ("34", &["34000", "34070", "34080", "34090", "34500", "34200", "34300", "34400", "34110", "34170"]),
    ("66", &["66000", "66100", "66200", "66300", "66400", "66140"]),
    ("11", &["11000", "11100", "11300", "11400"]),
    ("81", &["81000", "81100"]),
    ("82", &["82000"]),
    ("09", &["09000", "09100"]),
    ("47", &["47000"]),
];

fn postcodes(dept: &str) -> &'static [&'static str] {
    POSTCODES
        .iter()
        .find(|(d, _)| *d == dept)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("no postcodes for département {dept}"))
}

/// A postcode in `dept`: the first ones listed (the main town) are the likeliest.
pub fn postcode_in(rng: &mut Rng, dept: &str) -> &'static str {
    let list = postcodes(dept);
    // Two draws, keep the smaller index: favours the head of the list.
    let a = rng.below(list.len() as u64);
    let b = rng.below(list.len() as u64);
    list[a.min(b) as usize]
}

/// Where a patient of a microstructure in `home` lives: mostly the same département,
/// sometimes another of the network's, a few in a neighbouring one.
pub fn patient_postcode(rng: &mut Rng, net: &Network, home: &str) -> &'static str {
    let r = rng.below(100);
    let dept = if r < 82 {
        home
    } else if r < 95 {
        rng.weighted(net.depts)
    } else {
        rng.pick(net.neighbours)
    };
    postcode_in(rng, dept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_department_has_postcodes() {
        let total: u32 = NETWORKS.iter().map(|n| n.microstructures).sum();
        assert_eq!(total, 142);
        for net in &NETWORKS {
            for d in net.depts.iter().map(|(d, _)| *d).chain(net.neighbours.iter().copied()) {
                assert!(postcodes(d).iter().all(|p| p.len() == 5 && p.starts_with(d)), "{d}");
            }
        }
    }
}
