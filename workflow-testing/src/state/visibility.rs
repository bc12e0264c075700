//! Visibility in the test environment: list and count runs with the subset of the server's
//! query language tests use — comparisons joined by `AND` over the workflow id, type, run id,
//! task queue, status and search attributes: `CustomKeywordField = 'gold' AND
//! ExecutionStatus = 'Running'`, `Items > 2`.

use super::*;
use workflow_client::proto::workflow::WorkflowExecutionInfo;

/// One comparison of a query.
struct Condition {
    field: String,
    op: String,
    value: serde_json::Value,
}

fn parse(query: &str) -> Result<Vec<Condition>, Refusal> {
    let unsupported = || {
        Refusal::Invalid(format!(
            "the test environment reads queries like `Field = 'text' AND Count > 2` (comparisons \
             joined by AND); `{query}` is beyond it"
        ))
    };
    let query = query.trim();
    if query.is_empty() {
        return Ok(Vec::new());
    }
    let mut conditions = Vec::new();
    for part in split_and(query) {
        let part = part.trim();
        let op_at = part.find(['=', '!', '<', '>']).ok_or_else(unsupported)?;
        let field = part[..op_at].trim().trim_matches('`').to_string();
        let rest = &part[op_at..];
        let op_len = if rest.starts_with("!=") || rest.starts_with(">=") || rest.starts_with("<=") {
            2
        } else {
            1
        };
        let op = rest[..op_len].to_string();
        let raw = rest[op_len..].trim();
        // One quoted text (no quote inside: `'a' OR x = 'b'` is not one value), or a JSON
        // number or boolean.
        let quoted = |q: char| {
            raw.strip_prefix(q)
                .and_then(|r| r.strip_suffix(q))
                .filter(|text| !text.contains(q))
        };
        let value = if let Some(text) = quoted('\'').or_else(|| quoted('"')) {
            serde_json::Value::String(text.to_string())
        } else {
            serde_json::from_str::<serde_json::Value>(raw).map_err(|_| unsupported())?
        };
        if field.is_empty() || field.contains(' ') || op == "!" {
            return Err(unsupported());
        }
        conditions.push(Condition { field, op, value });
    }
    Ok(conditions)
}

/// Splits on `AND` outside quotes (case-insensitive).
fn split_and(query: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quote) = (0, None);
    let bytes = query.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if query[i..].len() >= 5 && query[i..i + 5].eq_ignore_ascii_case(" and ") => {
                parts.push(&query[start..i]);
                start = i + 5;
                i += 4;
            }
            None => {}
        }
        i += 1;
    }
    parts.push(&query[start..]);
    parts
}

fn status_name(status: WorkflowExecutionStatus) -> &'static str {
    match status {
        WorkflowExecutionStatus::Running => "Running",
        WorkflowExecutionStatus::Completed => "Completed",
        WorkflowExecutionStatus::Failed => "Failed",
        WorkflowExecutionStatus::Canceled => "Canceled",
        WorkflowExecutionStatus::Terminated => "Terminated",
        WorkflowExecutionStatus::ContinuedAsNew => "ContinuedAsNew",
        WorkflowExecutionStatus::TimedOut => "TimedOut",
        _ => "Unspecified",
    }
}

fn compare(have: &serde_json::Value, op: &str, want: &serde_json::Value) -> bool {
    use std::cmp::Ordering;
    let order = match (have, want) {
        (serde_json::Value::Number(a), serde_json::Value::Number(b)) => {
            a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b))
        }
        (serde_json::Value::String(a), serde_json::Value::String(b)) => Some(a.cmp(b)),
        (serde_json::Value::Bool(a), serde_json::Value::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match (op, order) {
        ("=", Some(o)) => o == Ordering::Equal,
        ("!=", Some(o)) => o != Ordering::Equal,
        ("!=", None) => true,
        (">", Some(o)) => o == Ordering::Greater,
        (">=", Some(o)) => o != Ordering::Less,
        ("<", Some(o)) => o == Ordering::Less,
        ("<=", Some(o)) => o != Ordering::Greater,
        _ => false,
    }
}

impl State {
    /// What describe and list tell about a run.
    pub(crate) fn execution_info(&self, run_id: &str) -> WorkflowExecutionInfo {
        let e = &self.executions[run_id];
        WorkflowExecutionInfo {
            execution: Some(WorkflowExecution {
                workflow_id: e.workflow_id.clone(),
                run_id: e.run_id.clone(),
            }),
            r#type: Some(WorkflowType {
                name: e.workflow_type.clone(),
            }),
            start_time: e.history.first().and_then(|ev| ev.event_time),
            close_time: e.close_event().and_then(|ev| ev.event_time),
            status: e.status as i32,
            history_length: e.history.len() as i64,
            task_queue: e.task_queue.clone(),
            search_attributes: Some(workflow_client::proto::common::SearchAttributes {
                indexed_fields: e.search_attributes.clone(),
            }),
            memo: Some(workflow_client::proto::common::Memo { fields: e.memo.clone() }),
            ..Default::default()
        }
    }

    /// The runs matching a visibility query, newest first.
    pub(crate) fn list(&self, query: &str) -> Result<Vec<WorkflowExecutionInfo>, Refusal> {
        let conditions = parse(query)?;
        let mut runs: Vec<&Execution> = self
            .executions
            .values()
            .filter(|e| {
                conditions.iter().all(|c| {
                    let have = match c.field.as_str() {
                        "WorkflowId" => serde_json::Value::String(e.workflow_id.clone()),
                        "RunId" => serde_json::Value::String(e.run_id.clone()),
                        "WorkflowType" => serde_json::Value::String(e.workflow_type.clone()),
                        "TaskQueue" => serde_json::Value::String(e.task_queue.clone()),
                        "ExecutionStatus" => serde_json::Value::String(status_name(e.status).to_string()),
                        name => match e.search_attributes.get(name) {
                            Some(p) => workflow_client::payload::from_payload(p).unwrap_or(serde_json::Value::Null),
                            None => serde_json::Value::Null,
                        },
                    };
                    compare(&have, &c.op, &c.value)
                })
            })
            .collect();
        runs.sort_by(|a, b| b.run_id.cmp(&a.run_id));
        Ok(runs.iter().map(|e| self.execution_info(&e.run_id)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_read_or_refused_plainly() {
        let parsed = parse("CustomKeywordField = 'a AND b' AND ExecutionStatus != 'Running' AND Items >= 2").unwrap();
        let parts: Vec<(&str, &str)> = parsed.iter().map(|c| (c.field.as_str(), c.op.as_str())).collect();
        assert_eq!(
            parts,
            [("CustomKeywordField", "="), ("ExecutionStatus", "!="), ("Items", ">=")]
        );
        assert_eq!(parsed[0].value, serde_json::json!("a AND b"));
        assert!(parse("").unwrap().is_empty());
        assert!(matches!(parse("A = 1 OR B = 2"), Err(Refusal::Invalid(_))));
        assert!(matches!(parse("just words"), Err(Refusal::Invalid(_))));
    }
}
