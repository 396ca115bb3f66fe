//! `YYYY-MM-DD HH:MM:SS.ffffff` UTC timestamps (docs/PROTOCOL.md A.3), without a
//! date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// Formats a wall-clock instant as the feed's `publish_time`, in UTC.
/// Instants before 1970 are clamped to the epoch.
pub fn format_publish_time(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    format_unix_micros(since.as_secs(), since.subsec_micros())
}

/// Formats whole seconds plus microseconds since the Unix epoch.
pub(crate) fn format_unix_micros(secs: u64, micros: u32) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{micros:06}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01, using the
/// 400-year era decomposition (eras of 146 097 days starting on March 1st).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the origin to 0000-03-01 so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn epoch_is_formatted_with_six_fraction_digits() {
        assert_eq!(format_unix_micros(0, 0), "1970-01-01 00:00:00.000000");
    }

    #[test]
    fn known_instants_match_the_calendar() {
        // 2025-03-14 08:50:11.331473 UTC, the docs/PROTOCOL.md example.
        assert_eq!(
            format_unix_micros(1_741_942_211, 331_473),
            "2025-03-14 08:50:11.331473"
        );
        // A leap day and the last second of a year.
        assert_eq!(
            format_unix_micros(1_709_164_800, 7),
            "2024-02-29 00:00:00.000007"
        );
        assert_eq!(
            format_unix_micros(1_735_689_599, 999_999),
            "2024-12-31 23:59:59.999999"
        );
    }

    #[test]
    fn system_time_is_truncated_to_microseconds() {
        let at = UNIX_EPOCH + Duration::new(1_741_942_211, 331_473_999);
        assert_eq!(format_publish_time(at), "2025-03-14 08:50:11.331473");
    }
}
