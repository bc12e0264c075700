//! The payload codec on the worker's side: every payload that arrives with a task is decoded
//! before workflow or activity code sees it, and every payload the worker sends is encoded
//! (commands, update messages, query answers, activity results and failures). Without a codec
//! nothing here runs.

use crate::client::converter::{ConvertError, DataConverter};
use crate::client::proto::command::{Command, command::Attributes as Cmd};
use crate::client::proto::common::{Payload, Payloads};
use crate::client::proto::failure::Failure as ProtoFailure;
use crate::client::proto::history::history_event::Attributes as Ev;
use crate::client::proto::protocol::Message;
use crate::client::proto::query::{WorkflowQuery, WorkflowQueryResult};
use crate::client::proto::update as pu;
use crate::client::proto::workflowservice::PollWorkflowTaskQueueResponse;
use prost::{Message as _, Name};
use std::collections::HashMap;

/// Decodes the payloads of a workflow task: history events, update requests, queries.
pub(crate) async fn decode_workflow_task(
    dc: &DataConverter,
    task: &mut PollWorkflowTaskQueueResponse,
) -> Result<(), ConvertError> {
    if let Some(history) = task.history.as_mut() {
        for event in &mut history.events {
            match event.attributes.as_mut() {
                Some(Ev::WorkflowExecutionStartedEventAttributes(a)) => {
                    dc.decode_in_place(&mut a.input).await?;
                    if let Some(memo) = a.memo.as_mut() {
                        for value in memo.fields.values_mut() {
                            *value = decode_one(dc, std::mem::take(value)).await?;
                        }
                    }
                }
                Some(Ev::WorkflowPropertiesModifiedEventAttributes(a)) => {
                    if let Some(memo) = a.upserted_memo.as_mut() {
                        for value in memo.fields.values_mut() {
                            *value = decode_one(dc, std::mem::take(value)).await?;
                        }
                    }
                }
                Some(Ev::WorkflowExecutionSignaledEventAttributes(a)) => dc.decode_in_place(&mut a.input).await?,
                Some(Ev::ActivityTaskCompletedEventAttributes(a)) => dc.decode_in_place(&mut a.result).await?,
                Some(Ev::ActivityTaskFailedEventAttributes(a)) => decode_failure(dc, &mut a.failure).await?,
                Some(Ev::ActivityTaskTimedOutEventAttributes(a)) => decode_failure(dc, &mut a.failure).await?,
                Some(Ev::ActivityTaskCanceledEventAttributes(a)) => dc.decode_in_place(&mut a.details).await?,
                Some(Ev::ChildWorkflowExecutionCompletedEventAttributes(a)) => {
                    dc.decode_in_place(&mut a.result).await?
                }
                Some(Ev::ChildWorkflowExecutionFailedEventAttributes(a)) => decode_failure(dc, &mut a.failure).await?,
                Some(Ev::ChildWorkflowExecutionCanceledEventAttributes(a)) => {
                    dc.decode_in_place(&mut a.details).await?
                }
                Some(Ev::WorkflowExecutionUpdateAcceptedEventAttributes(a)) => {
                    if let Some(input) = a.accepted_request.as_mut().and_then(|r| r.input.as_mut()) {
                        dc.decode_in_place(&mut input.args).await?;
                    }
                }
                Some(Ev::MarkerRecordedEventAttributes(a)) => {
                    for payloads in a.details.values_mut() {
                        let taken = std::mem::take(&mut payloads.payloads);
                        payloads.payloads = dc.decode_raw(Some(Payloads { payloads: taken })).await?;
                    }
                }
                _ => {}
            }
        }
    }
    for message in &mut task.messages {
        map_update_body(message, |mut request: pu::Request| async move {
            if let Some(input) = request.input.as_mut() {
                dc.decode_in_place(&mut input.args).await?;
            }
            Ok(request)
        })
        .await?;
    }
    if let Some(query) = task.query.as_mut() {
        decode_query(dc, query).await?;
    }
    for query in task.queries.values_mut() {
        decode_query(dc, query).await?;
    }
    Ok(())
}

async fn decode_query(dc: &DataConverter, query: &mut WorkflowQuery) -> Result<(), ConvertError> {
    dc.decode_in_place(&mut query.query_args).await
}

async fn decode_failure(dc: &DataConverter, failure: &mut Option<ProtoFailure>) -> Result<(), ConvertError> {
    match failure.as_mut() {
        Some(f) => dc.decode_failure(f).await,
        None => Ok(()),
    }
}

async fn encode_failure(dc: &DataConverter, failure: &mut Option<ProtoFailure>) -> Result<(), ConvertError> {
    match failure.as_mut() {
        Some(f) => dc.encode_failure(f).await,
        None => Ok(()),
    }
}

/// Encodes what a workflow task answer carries.
pub(super) async fn encode_completion(
    dc: &DataConverter,
    commands: &mut [Command],
    messages: &mut [Message],
    query_results: &mut HashMap<String, WorkflowQueryResult>,
) -> Result<(), ConvertError> {
    for command in commands {
        if let Some(metadata) = command.user_metadata.as_mut() {
            for slot in [&mut metadata.summary, &mut metadata.details] {
                if let Some(p) = slot.take() {
                    *slot = Some(encode_one(dc, p).await?);
                }
            }
        }
        match command.attributes.as_mut() {
            Some(Cmd::ScheduleActivityTaskCommandAttributes(a)) => dc.encode_in_place(&mut a.input).await?,
            Some(Cmd::CompleteWorkflowExecutionCommandAttributes(a)) => dc.encode_in_place(&mut a.result).await?,
            Some(Cmd::FailWorkflowExecutionCommandAttributes(a)) => encode_failure(dc, &mut a.failure).await?,
            Some(Cmd::CancelWorkflowExecutionCommandAttributes(a)) => dc.encode_in_place(&mut a.details).await?,
            Some(Cmd::ContinueAsNewWorkflowExecutionCommandAttributes(a)) => dc.encode_in_place(&mut a.input).await?,
            Some(Cmd::StartChildWorkflowExecutionCommandAttributes(a)) => dc.encode_in_place(&mut a.input).await?,
            Some(Cmd::ModifyWorkflowPropertiesCommandAttributes(a)) => {
                if let Some(memo) = a.upserted_memo.as_mut() {
                    for value in memo.fields.values_mut() {
                        *value = encode_one(dc, std::mem::take(value)).await?;
                    }
                }
            }
            Some(Cmd::SignalExternalWorkflowExecutionCommandAttributes(a)) => dc.encode_in_place(&mut a.input).await?,
            Some(Cmd::RecordMarkerCommandAttributes(a)) => {
                for payloads in a.details.values_mut() {
                    let taken = std::mem::take(&mut payloads.payloads);
                    *payloads = dc.encode_raw(taken).await?;
                }
            }
            _ => {}
        }
    }
    for message in messages.iter_mut() {
        let Some(body) = message.body.as_mut() else { continue };
        if body.type_url == pu::Acceptance::type_url() {
            let mut acceptance = pu::Acceptance::decode(body.value.as_slice()).unwrap_or_default();
            if let Some(input) = acceptance.accepted_request.as_mut().and_then(|r| r.input.as_mut()) {
                dc.encode_in_place(&mut input.args).await?;
            }
            body.value = acceptance.encode_to_vec();
        } else if body.type_url == pu::Rejection::type_url() {
            let mut rejection = pu::Rejection::decode(body.value.as_slice()).unwrap_or_default();
            if let Some(input) = rejection.rejected_request.as_mut().and_then(|r| r.input.as_mut()) {
                dc.encode_in_place(&mut input.args).await?;
            }
            encode_failure(dc, &mut rejection.failure).await?;
            body.value = rejection.encode_to_vec();
        } else if body.type_url == pu::Response::type_url() {
            let mut response = pu::Response::decode(body.value.as_slice()).unwrap_or_default();
            match response.outcome.as_mut().and_then(|o| o.value.as_mut()) {
                Some(pu::outcome::Value::Success(p)) => *p = dc.encode_raw(std::mem::take(&mut p.payloads)).await?,
                Some(pu::outcome::Value::Failure(f)) => dc.encode_failure(f).await?,
                None => {}
            }
            body.value = response.encode_to_vec();
        }
    }
    for result in query_results.values_mut() {
        dc.encode_in_place(&mut result.answer).await?;
    }
    Ok(())
}

/// Encodes a single payload (a legacy query answer, an activity result).
pub(super) async fn encode_one(dc: &DataConverter, payload: Payload) -> Result<Payload, ConvertError> {
    Ok(dc
        .encode_raw(vec![payload])
        .await?
        .payloads
        .into_iter()
        .next()
        .unwrap_or_default())
}

/// Decodes a single payload (a memo field).
async fn decode_one(dc: &DataConverter, payload: Payload) -> Result<Payload, ConvertError> {
    Ok(dc
        .decode_raw(Some(Payloads {
            payloads: vec![payload],
        }))
        .await?
        .into_iter()
        .next()
        .unwrap_or_default())
}

/// Rewrites the `Request` inside an update request message.
async fn map_update_body<F, Fut>(message: &mut Message, f: F) -> Result<(), ConvertError>
where
    F: FnOnce(pu::Request) -> Fut,
    Fut: Future<Output = Result<pu::Request, ConvertError>>,
{
    let Some(body) = message.body.as_mut() else {
        return Ok(());
    };
    if !body.type_url.ends_with("temporal.api.update.v1.Request") {
        return Ok(());
    }
    let Ok(request) = pu::Request::decode(body.value.as_slice()) else {
        return Ok(());
    };
    body.value = f(request).await?.encode_to_vec();
    Ok(())
}
