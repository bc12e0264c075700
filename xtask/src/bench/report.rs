//! The tables `cargo xtask bench` prints: one row per SDK, this project first, and a last row
//! with this project's advantage over the best peer in each column.

use serde_json::Value;

/// One figure of a workload.
pub(crate) struct Column {
    pub title: &'static str,
    pub value: fn(&Value) -> Option<f64>,
    pub higher_is_better: bool,
    pub decimals: usize,
}

/// A row: the SDK's name and its report, or why it has none (unavailable, failed).
pub(crate) type Row = (String, Result<Value, String>);

/// A markdown table of `rows` (this project's first) under `columns`.
pub(crate) fn table(title: &str, rows: &[Row], columns: &[Column]) -> String {
    let mut out = format!("\n### {title}\n\n| SDK |");
    for c in columns {
        out += &format!(" {} ({}) |", c.title, if c.higher_is_better { "↑" } else { "↓" });
    }
    out += "\n|---|";
    out += &"---|".repeat(columns.len());
    for (sdk, report) in rows {
        out += &format!("\n| {sdk} |");
        match report {
            Ok(v) => {
                for c in columns {
                    out += &match (c.value)(v) {
                        Some(x) => format!(" {x:.*} |", c.decimals),
                        None => " – |".to_string(),
                    };
                }
            }
            Err(reason) => {
                out += &format!(" {} |", one_line(reason));
                out += &" |".repeat(columns.len().saturating_sub(1));
            }
        }
    }
    if rows.len() > 1 {
        out += "\n| **this project vs the best peer** |";
        for c in columns {
            out += &match advantage(rows, c) {
                Some(x) => format!(" **{x:.2}×** |"),
                None => " – |".to_string(),
            };
        }
    }
    out + "\n"
}

/// How many times better this project (row 0) is than the best peer in a column (above 1 is
/// better); `None` without figures on both sides.
pub(crate) fn advantage(rows: &[Row], column: &Column) -> Option<f64> {
    let ours = rows.first()?.1.as_ref().ok().and_then(column.value)?;
    let peers = rows[1..]
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().and_then(column.value))
        .filter(|x| x.is_finite() && *x > 0.0);
    let best = if column.higher_is_better {
        peers.fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))?
    } else {
        peers.fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.min(x))))?
    };
    if ours <= 0.0 {
        return None;
    }
    Some(if column.higher_is_better {
        ours / best
    } else {
        best / ours
    })
}

fn one_line(reason: &str) -> String {
    let line = reason.lines().next().unwrap_or("").replace('|', "/");
    if line.chars().count() > 140 {
        format!("{}…", line.chars().take(140).collect::<String>())
    } else {
        line
    }
}

/// A number at a JSON path (`["drive", "p50_ms"]`).
pub(crate) fn at(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RATE: Column = Column {
        title: "wf/s",
        value: |v| at(v, &["rate"]),
        higher_is_better: true,
        decimals: 1,
    };
    const RSS: Column = Column {
        title: "MiB",
        value: |v| at(v, &["rss"]),
        higher_is_better: false,
        decimals: 1,
    };

    fn rows() -> Vec<Row> {
        vec![
            ("this project".into(), Ok(json!({"rate": 300.0, "rss": 20.0}))),
            ("a".into(), Ok(json!({"rate": 100.0, "rss": 80.0}))),
            ("b".into(), Ok(json!({"rate": 150.0, "rss": 50.0}))),
            ("c".into(), Err("unavailable: no download".into())),
        ]
    }

    #[test]
    fn advantage_is_against_the_best_peer_in_each_direction() {
        assert_eq!(advantage(&rows(), &RATE), Some(2.0));
        assert_eq!(advantage(&rows(), &RSS), Some(2.5));
    }

    #[test]
    fn a_peer_without_figures_says_why() {
        let t = table("t", &rows(), &[RATE, RSS]);
        assert!(t.contains("| c | unavailable: no download | |"), "{t}");
        assert!(t.contains("**2.00×**"), "{t}");
    }
}
