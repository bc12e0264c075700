//! When a query is answered, as on the server: after every event recorded before it arrived.
//! A query to a run whose events wait for a workflow task goes with that task (answered after
//! the events are applied); one that arrives while a task runs waits for its completion; only
//! a run with nothing pending is asked at once.

use super::*;

impl State {
    /// Sends query `id` to the run's next task, after the running one, or to the workers now.
    pub(super) fn route_query(&mut self, id: u64, queue: String) {
        let Some(run_id) = self.queries.get(&id).map(|q| q.run_id.clone()) else {
            return;
        };
        let execution = self.executions.get_mut(&run_id).expect("the query's run exists");
        if execution.is_open() && execution.task != TaskState::Idle {
            execution.waiting_queries.push(id);
        } else {
            self.query_queues.entry(queue).or_default().push_back(id);
        }
    }

    /// The queries that go with the run's task being handed out, by query id.
    pub(super) fn queries_for_task(&mut self, run_id: &str) -> HashMap<String, WorkflowQuery> {
        let waiting = std::mem::take(&mut self.executions.get_mut(run_id).expect("exists").waiting_queries);
        waiting
            .into_iter()
            .filter_map(|id| Some((id.to_string(), self.queries.get(&id)?.query.clone())))
            .collect()
    }

    /// Answers the queries a task carried, from the worker's completion of that task.
    pub(super) fn answer_task_queries(
        &mut self,
        results: HashMap<String, workflow_client::proto::query::WorkflowQueryResult>,
    ) {
        use workflow_client::proto::enums::QueryResultType;
        for (id, result) in results {
            let Some(mut pending) = id.parse().ok().and_then(|id: u64| self.queries.remove(&id)) else {
                continue;
            };
            let answer = if result.result_type == QueryResultType::Answered as i32 {
                Ok(result.answer.unwrap_or_default())
            } else {
                Err(result.error_message)
            };
            if let Some(tx) = pending.answer.take() {
                let _ = tx.send(answer);
            }
        }
    }

    /// Queries that waited for the task that just ended (or for a run that closed) go to the
    /// workers now, unless another task follows, which carries them.
    pub(super) fn release_waiting_queries(&mut self, run_id: &str) {
        let Some(execution) = self.executions.get_mut(run_id) else {
            return;
        };
        if execution.is_open() && execution.task != TaskState::Idle {
            return; // a new task is already scheduled: they go with it
        }
        let queue = execution.task_queue.clone();
        let waiting = std::mem::take(&mut execution.waiting_queries);
        self.query_queues.entry(queue).or_default().extend(waiting);
    }
}
