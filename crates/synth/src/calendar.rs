//! The calendar of one month in France: working days (weekdays that are not public
//! holidays), the Europe/Paris UTC offset of each day, and timestamp formatting.

use chrono::{Datelike, Days, NaiveDate};

/// A time inside the current month: day of month and minute of the day (local time).
/// Ordered as the events are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts {
    pub day: u8,
    pub minute: u16,
}

impl Ts {
    pub fn new(day: u8, minute: u16) -> Self {
        Self { day, minute }
    }

    /// Sort key within the month.
    pub fn key(self) -> u32 {
        u32::from(self.day) * 1440 + u32::from(self.minute)
    }
}

pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
    /// Months since year 0: the simulation's clock.
    pub index: u32,
    /// `YYYY-MM-` for the dates of the month.
    prefix: String,
    /// Per day (index 0 = day 1): weekday (0 = Monday) and summer time.
    days: Vec<(u8, bool)>,
    /// Working days, ascending.
    workdays: Vec<u8>,
}

impl Month {
    pub fn new(index: u32) -> Self {
        let (year, month) = ((index / 12) as i32, index % 12 + 1);
        let first = NaiveDate::from_ymd_opt(year, month, 1).expect("valid month");
        let summer = (last_sunday(year, 3), last_sunday(year, 10));
        let mut days = Vec::with_capacity(31);
        let mut workdays = Vec::with_capacity(23);
        let easter = easter(year);
        let mut d = first;
        while d.month() == month {
            let wd = d.weekday().num_days_from_monday() as u8;
            days.push((wd, d >= summer.0 && d < summer.1));
            if wd < 5 && !holiday(d, easter) {
                workdays.push(d.day() as u8);
            }
            d = d + Days::new(1);
        }
        Self {
            year,
            month,
            index,
            prefix: format!("{year:04}-{month:02}-"),
            days,
            workdays,
        }
    }

    pub fn index_of(date: NaiveDate) -> u32 {
        date.year() as u32 * 12 + date.month0()
    }

    pub fn len(&self) -> u8 {
        self.days.len() as u8
    }

    pub fn date(&self, day: u8) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, u32::from(day)).expect("day of month")
    }

    pub fn weekday(&self, day: u8) -> u8 {
        self.days[usize::from(day) - 1].0
    }

    /// Working days in `lo..=hi`.
    pub fn workdays(&self, lo: u8, hi: u8) -> &[u8] {
        let a = self.workdays.partition_point(|&d| d < lo);
        let b = self.workdays.partition_point(|&d| d <= hi);
        &self.workdays[a..b.max(a)]
    }

    /// The first working day on or after `day`, if any.
    pub fn workday_from(&self, day: u8) -> Option<u8> {
        self.workdays(day, 31).first().copied()
    }

    /// Writes `YYYY-MM-DDThh:mm:00+01:00` (or `+02:00` in summer time).
    pub fn write_ts(&self, ts: Ts, out: &mut String) {
        out.push_str(&self.prefix);
        push2(out, u32::from(ts.day));
        out.push('T');
        push2(out, u32::from(ts.minute / 60));
        out.push(':');
        push2(out, u32::from(ts.minute % 60));
        let summer = self.days[usize::from(ts.day) - 1].1;
        out.push_str(if summer { ":00+02:00" } else { ":00+01:00" });
    }
}

/// Two digits, zero-padded.
pub fn push2(out: &mut String, n: u32) {
    out.push((b'0' + (n / 10 % 10) as u8) as char);
    out.push((b'0' + (n % 10) as u8) as char);
}

/// Writes `YYYY-MM-DD`.
pub fn write_date(d: NaiveDate, out: &mut String) {
    let y = d.year() as u32;
    push2(out, y / 100);
    push2(out, y % 100);
    out.push('-');
    push2(out, d.month());
    out.push('-');
    push2(out, d.day());
}

/// Summer time runs from the last Sunday of March to the last Sunday of October (the
/// switch happens at night, and no event is generated on a Sunday).
fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let last = NaiveDate::from_ymd_opt(year, month, 31).expect("March and October have 31 days");
    let back = last.weekday().num_days_from_sunday();
    last - Days::new(u64::from(back))
}

/// Easter Sunday (anonymous Gregorian algorithm).
fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let (b, c) = (year / 100, year % 100);
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is a date")
}

/// French public holidays falling on weekdays matter here: the fixed ones, Easter
/// Monday, Ascension and Whit Monday.
fn holiday(d: NaiveDate, easter: NaiveDate) -> bool {
    const FIXED: [(u32, u32); 8] = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)];
    FIXED.contains(&(d.month(), d.day())) || [1, 39, 50].iter().any(|&n| easter + Days::new(n) == d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_offsets_and_holidays() {
        assert_eq!(easter(2024), NaiveDate::from_ymd_opt(2024, 3, 31).unwrap());
        assert_eq!(easter(2021), NaiveDate::from_ymd_opt(2021, 4, 4).unwrap());
        let march = Month::new(Month::index_of(NaiveDate::from_ymd_opt(2021, 3, 1).unwrap()));
        let mut s = String::new();
        march.write_ts(Ts::new(26, 9 * 60 + 5), &mut s);
        assert_eq!(s, "2021-03-26T09:05:00+01:00");
        s.clear();
        march.write_ts(Ts::new(29, 14 * 60), &mut s);
        assert_eq!(s, "2021-03-29T14:00:00+02:00");
        let april = Month::new(march.index + 1);
        assert!(!april.workdays(1, 30).contains(&5)); // Easter Monday 2021
        assert!(april.workdays(1, 30).contains(&6));
        let oct = Month::new(Month::index_of(NaiveDate::from_ymd_opt(2021, 10, 1).unwrap()));
        s.clear();
        oct.write_ts(Ts::new(29, 8 * 60), &mut s);
        assert_eq!(s, "2021-10-29T08:00:00+02:00");
        assert!(!oct.days[30].1 && oct.days[29].1); // switch on the 31st
        assert_eq!(oct.workday_from(30), None);
        s.clear();
        write_date(NaiveDate::from_ymd_opt(1978, 2, 3).unwrap(), &mut s);
        assert_eq!(s, "1978-02-03");
    }
}
