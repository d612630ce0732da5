//! Deterministic pseudo-random numbers: SplitMix64 seeds a xoshiro256** generator.
//!
//! Written out here rather than taken from a crate, so that a given seed gives the same
//! bytes for ever. Only integer arithmetic and IEEE additions, multiplications and
//! comparisons are used (no `ln`, `exp` or `cos` from the platform's libm), so the output
//! is the same on every platform too.

/// SplitMix64: a 64-bit state stepped by a Weyl sequence and mixed; used to expand a
/// seed into a xoshiro256** state.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// FNV-1a, 64 bits: turns a stream label into a number to mix into a seed.
pub fn fnv1a(label: &str) -> u64 {
    label.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// xoshiro256** (Blackman and Vigna, 2018).
#[derive(Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut sm = SplitMix64::new(seed);
        let mut s = [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()];
        if s == [0; 4] {
            s[0] = 1; // the one state xoshiro cannot leave
        }
        Self { s }
    }

    /// An independent stream for `label` (a microstructure, the corruption stream...):
    /// one stream's output does not depend on which other streams exist.
    pub fn stream(seed: u64, label: &str) -> Self {
        Self::new(SplitMix64::new(seed).next_u64() ^ fnv1a(label))
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (Lemire's multiply-shift with rejection: exactly uniform).
    /// `n` must not be 0.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// Uniform in `[0, 1)`, 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// One item, with probability proportional to its weight.
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|&(_, w)| u64::from(w)).sum();
        let mut r = self.below(total);
        for &(item, w) in items {
            if r < u64::from(w) {
                return item;
            }
            r -= u64::from(w);
        }
        unreachable!("weights sum to {total}")
    }

    /// Standard normal, approximated by the Irwin-Hall sum of 12 uniforms (bounded at
    /// ±6, which suits ages and durations better than an unbounded tail).
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }

    /// Number of events in a period with mean `mean` (a binomial over 40 slots: close
    /// to Poisson for the small means used here, without `exp`).
    pub fn count(&mut self, mean: f64) -> u32 {
        let p = mean / 40.0;
        (0..40).filter(|_| self.chance(p)).count() as u32
    }

    /// A random (version 4) UUID in its canonical lowercase text form.
    pub fn uuid_into(&mut self, out: &mut String) {
        let hi = (self.next_u64() & !0xF000) | 0x4000;
        let lo = (self.next_u64() & !(0b11 << 62)) | (0b10 << 62);
        let v = (u128::from(hi) << 64) | u128::from(lo);
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for i in 0..32 {
            if matches!(i, 8 | 12 | 16 | 20) {
                out.push('-');
            }
            out.push(HEX[(v >> (124 - 4 * i)) as usize & 0xF] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_values() {
        // SplitMix64 from seed 1234567 (reference output of the C implementation).
        let mut sm = SplitMix64::new(1_234_567);
        assert_eq!(sm.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(sm.next_u64(), 3_203_168_211_198_807_973);
        // xoshiro256** from the state [1, 2, 3, 4] (reference output).
        let mut r = Rng { s: [1, 2, 3, 4] };
        assert_eq!(r.next_u64(), 11_520);
        assert_eq!(r.next_u64(), 0);
        assert_eq!(r.next_u64(), 1_509_978_240);
        assert_eq!(r.next_u64(), 1_215_971_899_390_074_240);
    }

    #[test]
    fn ranges_and_uuid() {
        let mut r = Rng::new(7);
        for _ in 0..10_000 {
            assert!(r.below(3) < 3);
            let x = r.range(18, 80);
            assert!((18..=80).contains(&x));
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
        let mut s = String::new();
        r.uuid_into(&mut s);
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
        let mean = (0..20_000).map(|_| r.normal()).sum::<f64>() / 20_000.0;
        assert!(mean.abs() < 0.05);
        assert_ne!(Rng::stream(1, "a").next_u64(), Rng::stream(1, "b").next_u64());
    }
}
