//! A strict reader of the Prometheus text exposition format (0.0.4) for tests: every line must be
//! a `# HELP`, a `# TYPE` or a sample of a family declared by the `# TYPE` before it; names,
//! labels (quoted, escaped) and values are checked. Returns the samples to assert on.

use std::collections::{BTreeMap, HashSet};

/// The process's counters and gauges are shared by every server a test binary runs (a test's
/// SQLite and PostgreSQL copies run side by side): a test that checks exact values holds this lock
/// for its whole run, and so does every other test of its binary that moves them.
pub static METRICS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("bad value {s:?}")),
    }
}

fn parse_labels(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    let mut rest = s;
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_name(name) || name.contains(':') {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().ok_or("unterminated label value")? {
                (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                    'n' => value.push('\n'),
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    c => return Err(format!("bad escape \\{c}")),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.insert(name.to_string(), value);
        rest = &rest[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    Ok(labels)
}

/// Parses a whole exposition, failing on the first line that is not valid.
pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_type = HashSet::new();
    let mut samples = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("HELP"), Some(name), _) if valid_name(name) => {}
                (Some("TYPE"), Some(name), Some(kind)) if valid_name(name) => {
                    let known = ["counter", "gauge", "histogram", "summary", "untyped"];
                    if !known.contains(&kind) {
                        return Err(err(format!("unknown type {kind}")));
                    }
                    if !seen_type.insert(name.to_string()) {
                        return Err(err("family declared twice".into()));
                    }
                    types.insert(name.to_string(), kind.to_string());
                }
                _ => return Err(err("bad comment".into())),
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .ok_or_else(|| err("no value".into()))?;
        let value = parse_value(value).map_err(err)?;
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .ok_or_else(|| err("unclosed {".into()))?;
                (name, parse_labels(inner).map_err(err)?)
            }
            None => (series, BTreeMap::new()),
        };
        if !valid_name(name) {
            return Err(err("bad metric name".into()));
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        if !types.contains_key(family) {
            return Err(err("sample without a # TYPE".into()));
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(samples)
}

/// The value of the sample `name` whose labels include `labels`; a missing series fails the test
/// (it never reads as 0).
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .unwrap_or_else(|| {
            let family: Vec<String> = samples
                .iter()
                .filter(|s| s.name == name)
                .map(|s| format!("{:?}", s.labels))
                .collect();
            panic!("no series {name}{labels:?} in /metrics (that name has: {family:?})")
        })
}

impl super::TestApp {
    /// Scrapes `/metrics` and parses it.
    pub async fn scrape(&self) -> Vec<Sample> {
        let mut res = awc::Client::new()
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let body = res.body().limit(8 << 20).await.unwrap();
        parse(std::str::from_utf8(&body).unwrap()).unwrap()
    }

    /// The value of one sample of `/metrics` (a missing series fails the test).
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        value(&self.scrape().await, name, labels)
    }
}
