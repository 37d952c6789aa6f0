//! Small helpers shared by the library's modules.

use std::time::Duration;

static RELEASE_MEMORY: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Sets how [`release_memory`] returns freed memory to the OS (the binary knows its allocator).
pub fn set_release_memory(f: fn()) {
    let _ = RELEASE_MEMORY.set(f);
}

/// Returns the memory the calling thread freed to the OS, after a compile's peak.
pub fn release_memory() {
    if let Some(f) = RELEASE_MEMORY.get() {
        f();
    }
}

/// The closest candidate to `name` by edit distance, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 2.max(name.len().min(c.len()) / 3) && *d > 0)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Parses a duration such as `500ms`, `30s`, `15m`, `2h`, `7d`, `1w` or `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".to_owned());
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("`{s}` is not a duration; use a number and a unit, such as 30s, 15m, 2h or 7d"));
        }
        let n: u128 = rest[..digits].parse().map_err(|_| format!("`{s}`: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let ms: u128 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "" => return Err(format!("`{s}` has no unit; use ms, s, m, h, d or w (such as 30s)")),
            other => return Err(format!("`{s}`: unknown unit `{other}`; use ms, s, m, h, d or w")),
        };
        total = total
            .checked_add(n.checked_mul(ms).ok_or_else(|| format!("`{s}` is too long"))?)
            .ok_or_else(|| format!("`{s}` is too long"))?;
    }
    // Ten years is far beyond any query window or timeout; a larger value is a mistake.
    if total > 10 * 365 * 86_400_000 {
        return Err(format!("`{s}` is longer than ten years"));
    }
    Ok(Duration::from_millis(u64::try_from(total).unwrap_or(u64::MAX)))
}

/// Whether a string holds template syntax.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86400));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("99999999999999999999999999999999999999s").is_err());
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("log_group", ["log_groups", "query"].into_iter()), Some("log_groups"));
        assert_eq!(did_you_mean("zzz", ["log_groups", "query"].into_iter()), None);
    }
}
