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

/// Parses a duration such as `500ms`, `30s`, `15m`, `2h`, `7d`, `1w` or `1h30m`: numbers, each
/// with one of these units right after it, at most ten years in all.
///
/// The language and the messages are this project's, checked part by part first; humantime then
/// adds the parts up. It accepts more than this language (`1h 30m`, `1.5h`, `30sec`, `2y`), which
/// is why it only ever sees a string that passed the check.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".to_owned());
    }
    if let Some(message) = duration_parts(s).find_map(Result::err) {
        return Err(if overflows(s) { format!("`{s}` is too long") } else { message });
    }
    // Ten years is far beyond any query window or timeout; a larger value is a mistake.
    const TEN_YEARS: Duration = Duration::from_secs(10 * 365 * 86_400);
    match humantime::parse_duration(s) {
        Ok(d) if d <= TEN_YEARS => Ok(d),
        Ok(_) => Err(format!("`{s}` is longer than ten years")),
        // Past what a Duration holds (centuries): also too long by the count of milliseconds.
        Err(humantime::DurationError::NumberOverflow) if overflows(s) => Err(format!("`{s}` is too long")),
        Err(humantime::DurationError::NumberOverflow) => Err(format!("`{s}` is longer than ten years")),
        Err(e) => Err(format!("`{s}` is not a duration ({e}); use a number and a unit, such as 30s, 15m, 2h or 7d")),
    }
}

/// The parts of a duration, in order: each number and its unit in milliseconds, or (ending the
/// parts) the message for the first one that is not a number with a known unit.
fn duration_parts(s: &str) -> impl Iterator<Item = Result<(u128, u128), String>> + '_ {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let part = duration_part(s, &mut rest);
        if part.is_err() {
            rest = "";
        }
        Some(part)
    })
}

fn duration_part(s: &str, rest: &mut &str) -> Result<(u128, u128), String> {
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    if digits == 0 {
        return Err(format!("`{s}` is not a duration; use a number and a unit, such as 30s, 15m, 2h or 7d"));
    }
    let n: u128 = rest[..digits].parse().map_err(|_| format!("`{s}`: number too large"))?;
    *rest = &rest[digits..];
    let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
    let unit = &rest[..unit_len];
    *rest = &rest[unit_len..];
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
    Ok((n, ms))
}

/// Whether the well-formed parts that lead `s` add up to more milliseconds than a `u128` holds,
/// which the message calls too long (before any later part's mistake, and rather than longer
/// than ten years). Only for choosing a message, on the way to an error.
#[cold]
fn overflows(s: &str) -> bool {
    duration_parts(s).map_while(Result::ok).try_fold(0u128, |total, (n, ms)| total.checked_add(n.checked_mul(ms)?)).is_none()
}

/// Whether a string holds template syntax.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// A response body read up to a cap (see [`read_capped`]).
#[derive(Debug)]
pub struct CappedBody {
    /// At most the cap's worth of the body.
    pub bytes: Vec<u8>,
    /// The body held more than the cap; `bytes` is its start.
    pub cut: bool,
    /// Reading failed after `bytes`; what was read is still here.
    pub error: Option<reqwest::Error>,
}

/// Reads at most `cap` bytes of a response body, and says whether there was more. The one
/// capped read of every HTTP body the server takes in (backend answers, error excerpts, JWKS
/// documents, OTLP answers): a body never grows a buffer past its cap, however much the peer
/// sends. Each chunk is non-empty, so the loop ends at the cap or at the end of the body; a
/// peer that trickles forever is stopped by the caller's timeouts. Unlike http-body-util's
/// `Limited`, a cut or failed read keeps what arrived, which error excerpts need.
pub async fn read_capped(response: &mut reqwest::Response, cap: usize) -> CappedBody {
    let capacity = response.content_length().map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX)).min(cap).min(1024 * 1024);
    let mut bytes = Vec::with_capacity(capacity);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = cap - bytes.len();
                if chunk.len() > room {
                    bytes.extend_from_slice(&chunk[..room]);
                    return CappedBody { bytes, cut: true, error: None };
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => return CappedBody { bytes, cut: false, error: None },
            Err(e) => return CappedBody { bytes, cut: false, error: Some(e) },
        }
    }
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
        assert_eq!(parse_duration(" 500ms ").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1w2d3h4m5s6ms").unwrap(), Duration::from_millis(((((9 * 24 + 3) * 60 + 4) * 60 + 5) * 1000) + 6));
        assert_eq!(parse_duration("999ms1ms").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("3650d").unwrap(), Duration::from_secs(3650 * 86_400));
        for (input, message) in [
            ("", "empty duration"),
            ("30", "`30` has no unit; use ms, s, m, h, d or w (such as 30s)"),
            ("abc", "`abc` is not a duration; use a number and a unit, such as 30s, 15m, 2h or 7d"),
            ("1h30", "`1h30` has no unit; use ms, s, m, h, d or w (such as 30s)"),
            ("30sec", "`30sec`: unknown unit `sec`; use ms, s, m, h, d or w"),
            ("1 hour", "`1 hour`: unknown unit ` hour`; use ms, s, m, h, d or w"),
            ("1h 30m", "`1h 30m`: unknown unit `h `; use ms, s, m, h, d or w"),
            ("1.5h", "`1.5h`: unknown unit `.`; use ms, s, m, h, d or w"),
            ("5y", "`5y`: unknown unit `y`; use ms, s, m, h, d or w"),
            ("3651d", "`3651d` is longer than ten years"),
            ("99999999999999999999s", "`99999999999999999999s` is longer than ten years"),
            ("999999999999999999999999999999999999999s", "`999999999999999999999999999999999999999s`: number too large"),
            ("99999999999999999999999999999999999999w", "`99999999999999999999999999999999999999w` is too long"),
            ("99999999999999999999999999999999999999w5y", "`99999999999999999999999999999999999999w5y` is too long"),
        ] {
            assert_eq!(parse_duration(input).unwrap_err(), message, "{input:?}");
        }
    }

    /// The parser before humantime did the arithmetic: the language and messages to keep.
    fn parse_duration_by_hand(s: &str) -> Result<Duration, String> {
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
        if total > 10 * 365 * 86_400_000 {
            return Err(format!("`{s}` is longer than ten years"));
        }
        Ok(Duration::from_millis(u64::try_from(total).unwrap_or(u64::MAX)))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 5000, ..Default::default() })]

        #[test]
        fn durations_as_before(s in "( ?(0|[0-9]{1,3}|[0-9]{10,14}|[0-9]{19,22}|[0-9]{36,40})(ms|s|m|h|d|w| ?|y|sec|min|\\.5|-|µs|ns)){0,4} ?") {
            proptest::prop_assert_eq!(parse_duration(&s), parse_duration_by_hand(&s), "{:?}", s);
        }

        #[test]
        fn any_text_as_before(s in "[0-9a-z .µ-]{0,12}") {
            proptest::prop_assert_eq!(parse_duration(&s), parse_duration_by_hand(&s), "{:?}", s);
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("log_group", ["log_groups", "query"].into_iter()), Some("log_groups"));
        assert_eq!(did_you_mean("zzz", ["log_groups", "query"].into_iter()), None);
    }
}
