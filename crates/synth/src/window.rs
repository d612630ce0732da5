//! The days of the current month open to one patient's events (after the inclusion,
//! before the end of follow-up), and the emission of those events.

use crate::calendar::Ts;
use crate::emit::{Batch, Body, Head, Who};
use crate::rng::Rng;

pub struct Window<'a, 'h> {
    pub rng: &'a mut Rng,
    pub batch: &'a mut Batch,
    pub head: &'a Head<'h>,
    pub local: u32,
    /// First and last day of the month open to events (a window may be empty).
    pub lo: u8,
    pub hi: u8,
}

impl Window<'_, '_> {
    /// The simulation's month index.
    pub fn m(&self) -> u32 {
        self.head.month.index
    }

    pub fn contains(&self, day: u8) -> bool {
        (self.lo..=self.hi).contains(&day)
    }

    /// A working day of the window, if there is one.
    pub fn day(&mut self) -> Option<u8> {
        let days = self.head.month.workdays(self.lo, self.hi);
        (!days.is_empty()).then(|| days[self.rng.below(days.len() as u64) as usize])
    }

    /// A working day of the window that falls on `weekday` (0 = Monday), if any: the
    /// psychologist and the social worker each hold their consultations on one day.
    pub fn weekday(&mut self, weekday: u8) -> Option<u8> {
        let month = self.head.month;
        let days = month.workdays(self.lo, self.hi);
        let n = days.iter().filter(|&&d| month.weekday(d) == weekday).count();
        if n == 0 {
            return None;
        }
        let k = self.rng.below(n as u64) as usize;
        days.iter().copied().filter(|&d| month.weekday(d) == weekday).nth(k)
    }

    /// A minute among `slots` slots of `step` minutes from `from`.
    pub fn slot(&mut self, from: u16, step: u16, slots: u64) -> u16 {
        from + step * self.rng.below(slots) as u16
    }

    pub fn emit(&mut self, ts: Ts, body: Body) {
        self.batch.push(self.rng, self.head, ts, Who::Local(self.local), body);
    }
}
