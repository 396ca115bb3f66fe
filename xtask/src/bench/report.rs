//! The numbers and text both benchmarks write: medians, spreads, thousands separators, the report file.

use super::*;

pub(super) fn write_report(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!("xtask: report written to {}", path.display());
    Ok(())
}

pub(super) fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

pub(super) fn median(v: &[f64]) -> f64 {
    let s = sorted(v);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

pub(super) fn min(v: &[f64]) -> f64 {
    sorted(v).first().copied().unwrap_or(0.0)
}

pub(super) fn max(v: &[f64]) -> f64 {
    sorted(v).last().copied().unwrap_or(0.0)
}

/// Half the min–max range relative to the median.
pub(super) fn spread(v: &[f64]) -> f64 {
    let m = median(v);
    if m > 0.0 {
        (max(v) - min(v)) / 2.0 / m
    } else {
        0.0
    }
}

/// `1234567.8` → `"1,234,568"`.
pub(super) fn thousands(x: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = x.round().max(0.0) as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
