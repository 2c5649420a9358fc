//! The client role: connects to a target and plays each call's script against it.

mod call;
mod cancel;
mod compat;
mod connect;

pub(crate) use call::ClientCall;
pub(crate) use connect::{connect, read_pem, ConnectError, ConnectOptions};

use futures::future::join_all;
use tonic::transport::Channel;

use crate::runner::{caught, play_call, CallResult, Captures, Observer, PlayOptions};
use crate::scenario::{Call, Role, Scenario};

/// Plays every call of a scenario on `channel`: one after another, or all at once when the
/// file says `concurrent: true`.
pub(crate) async fn run_scenario(
    scenario: &Scenario,
    channel: &Channel,
    options: &PlayOptions,
    observer: &dyn Observer,
) -> Vec<CallResult> {
    // Each file captures into its own variables.
    let options = &PlayOptions {
        captures: Captures::default(),
        ..options.clone()
    };
    let play = |call| async move {
        let deadline = call_deadline(call, options);
        // A template that cannot be built yet is reported by the engine as the call starts.
        let metadata = match &call.metadata_template {
            Some(template) => template
                .resolve(&options.captures.snapshot())
                .ok()
                .and_then(|spec| spec.to_send().ok())
                .unwrap_or_default(),
            None => call.metadata.to_send().unwrap_or_default(),
        };
        let mut io = ClientCall::start_with_metadata(
            channel.clone(),
            call,
            deadline,
            &metadata,
            options.max_message_size,
        );
        let play = play_call(
            scenario,
            call,
            Role::Client,
            &mut io,
            options,
            None,
            observer,
        );
        // A panic fails this call only, with its message.
        caught(scenario, call, Role::Client, play).await
    };
    if scenario.concurrent {
        join_all(scenario.calls.iter().map(play)).await
    } else {
        let mut results = Vec::with_capacity(scenario.calls.len());
        for call in &scenario.calls {
            results.push(play(call).await);
        }
        results
    }
}

fn call_deadline(call: &Call, options: &PlayOptions) -> std::time::Duration {
    call.timeout.unwrap_or(options.default_timeout)
}
