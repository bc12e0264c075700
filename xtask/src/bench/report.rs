//! The tables `cargo xtask bench` prints: one row per SDK, this project first, and last rows
//! with this project's advantage over the best peer in each column, and over the null worker
//! (the ceiling) when it ran. A row's report is one run, or `{"repetitions": [run, …]}`: each
//! figure is then the median of the runs, with their spread (min–max) beside it, and the
//! ratios are computed from the medians.

use crate::peers::null_worker::SDK as CEILING;
use serde_json::{Value, json};

/// One figure of a workload.
pub(crate) struct Column {
    pub title: &'static str,
    pub value: fn(&Value) -> Option<f64>,
    pub higher_is_better: bool,
    pub decimals: usize,
}

/// A row: the SDK's name and its report, or why it has none (unavailable, failed).
pub(crate) type Row = (String, Result<Value, String>);

/// A figure over a row's runs: the median, and the spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Figure {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Figure {
    /// The figure in a column of `report` (its repetitions, or itself), over the runs that
    /// have it.
    pub(crate) fn of(report: &Value, column: &Column) -> Option<Figure> {
        let runs = match report.get("repetitions").and_then(Value::as_array) {
            Some(runs) => runs.iter().collect(),
            None => vec![report],
        };
        let mut xs: Vec<f64> = runs
            .into_iter()
            .filter_map(column.value)
            .filter(|x| x.is_finite())
            .collect();
        xs.sort_by(f64::total_cmp);
        let n = xs.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => xs[n / 2],
            _ => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
        };
        Some(Figure {
            median,
            min: xs[0],
            max: xs[n - 1],
            runs: n,
        })
    }

    pub(crate) fn show(&self, decimals: usize) -> String {
        match self.runs {
            1 => format!("{:.*}", decimals, self.median),
            _ => format!(
                "{:.*} ({:.*}–{:.*})",
                decimals, self.median, decimals, self.min, decimals, self.max
            ),
        }
    }
}

/// The label of the usual ratio row.
pub(crate) const VERSUS_PEERS: &str = "this project vs the best peer";

/// A markdown table of `rows` (this project's first) under `columns`, with the first row's
/// advantage over the best of the others (but the ceiling) under `label`, and over the
/// ceiling if it is a row.
pub(crate) fn table(title: &str, rows: &[Row], columns: &[Column], label: &str) -> String {
    let mut out = grid(title, "SDK", rows, columns);
    let mut ratio_row = |label: &str, ratio: &dyn Fn(&Column) -> Option<f64>| {
        out += &format!("\n| **{label}** |");
        for c in columns {
            out += &match ratio(c) {
                Some(x) => format!(" **{x:.2}×** |"),
                None => " – |".to_string(),
            };
        }
    };
    if rows.iter().skip(1).any(|(sdk, _)| sdk != CEILING) {
        ratio_row(label, &|c| advantage(rows, c));
    }
    if rows.iter().any(|(sdk, _)| sdk == CEILING) {
        ratio_row("this project vs the null worker (ceiling)", &|c| {
            versus_ceiling(rows, c)
        });
    }
    out + "\n"
}

/// A markdown table of `rows` under `columns` (the first column, `first`, names the rows),
/// without a last line: its caller adds rows of its own (ratios) and the line.
pub(crate) fn grid(title: &str, first: &str, rows: &[Row], columns: &[Column]) -> String {
    let mut out = format!("\n### {title}\n\n| {first} |");
    for c in columns {
        out += &format!(" {} ({}) |", c.title, if c.higher_is_better { "↑" } else { "↓" });
    }
    out += "\n|---|";
    out += &"---|".repeat(columns.len());
    for (name, report) in rows {
        out += &format!("\n| {name} |");
        match report {
            Ok(v) => {
                for c in columns {
                    out += &match Figure::of(v, c) {
                        Some(f) => format!(" {} |", f.show(c.decimals)),
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
    out
}

/// The median of each column, by row (`{sdk: {column title: median}}`), for the raw numbers.
pub(crate) fn medians(rows: &[Row], columns: &[Column]) -> Value {
    let by_row = rows.iter().filter_map(|(sdk, report)| {
        let report = report.as_ref().ok()?;
        let figures = columns
            .iter()
            .filter_map(|c| Some((c.title.to_string(), json!(Figure::of(report, c)?.median))));
        Some((sdk.clone(), Value::Object(figures.collect())))
    });
    Value::Object(by_row.collect())
}

/// The median of a row's column, if it has one above 0.
fn median(row: &Row, column: &Column) -> Option<f64> {
    let report = row.1.as_ref().ok()?;
    Figure::of(report, column).map(|f| f.median).filter(|x| *x > 0.0)
}

/// How many times better `ours` is than `other` in a column (above 1 is better).
fn ratio(ours: f64, other: f64, column: &Column) -> f64 {
    if column.higher_is_better {
        ours / other
    } else {
        other / ours
    }
}

/// How many times better this project (row 0) is than the best peer in a column (above 1 is
/// better), on the medians; `None` without figures on both sides. The ceiling is no peer.
pub(crate) fn advantage(rows: &[Row], column: &Column) -> Option<f64> {
    let ours = median(rows.first()?, column)?;
    let peers = rows[1..]
        .iter()
        .filter(|(sdk, _)| sdk != CEILING)
        .filter_map(|row| median(row, column));
    let best = match column.higher_is_better {
        true => peers.reduce(f64::max)?,
        false => peers.reduce(f64::min)?,
    };
    Some(ratio(ours, best, column))
}

/// This project (row 0) against the null worker, on the medians (above 1 is better).
pub(crate) fn versus_ceiling(rows: &[Row], column: &Column) -> Option<f64> {
    let ours = median(rows.first()?, column)?;
    let ceiling = rows.iter().find(|(sdk, _)| sdk == CEILING)?;
    Some(ratio(ours, median(ceiling, column)?, column))
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
        let t = table("t", &rows(), &[RATE, RSS], VERSUS_PEERS);
        assert!(t.contains("| c | unavailable: no download | |"), "{t}");
        assert!(t.contains("**2.00×**"), "{t}");
    }

    #[test]
    fn repetitions_give_the_median_and_the_spread() {
        let runs = json!({"repetitions": [{"rate": 90.0}, {"rate": 120.0}, {"rate": 100.0}, {"rss": 1.0}]});
        let f = Figure::of(&runs, &RATE).unwrap();
        assert_eq!((f.median, f.min, f.max, f.runs), (100.0, 90.0, 120.0, 3));
        assert_eq!(f.show(1), "100.0 (90.0–120.0)");
        let even = json!({"repetitions": [{"rate": 1.0}, {"rate": 4.0}]});
        assert_eq!(Figure::of(&even, &RATE).unwrap().median, 2.5);
    }

    #[test]
    fn the_ceiling_is_no_peer_and_has_its_own_ratio() {
        let mut rows = rows();
        rows.insert(
            1,
            (
                CEILING.into(),
                Ok(json!({"repetitions": [{"rate": 400.0}, {"rate": 600.0}]})),
            ),
        );
        assert_eq!(advantage(&rows, &RATE), Some(2.0));
        assert_eq!(versus_ceiling(&rows, &RATE), Some(0.6));
        let t = table("t", &rows, &[RATE], VERSUS_PEERS);
        assert!(
            t.contains("| **this project vs the null worker (ceiling)** | **0.60×** |"),
            "{t}"
        );
        let alone = table("t", &rows[..2], &[RATE], VERSUS_PEERS);
        assert!(!alone.contains("best peer"), "{alone}");
    }
}
