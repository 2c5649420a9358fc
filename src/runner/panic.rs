//! A panic while playing a call, caught where the call's task begins: it becomes that
//! call's failure, with the panic's message, instead of a call that silently never ends
//! (and a script the server then calls never played).

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures::FutureExt as _;

use super::outcome::{CallResult, Failure, FailureReason, StepKind};
use crate::scenario::{Call, Role, Scenario};

/// Plays `play` (a call of `scenario` in `role`); a panic inside it is the call's failure.
pub(crate) async fn caught(
    scenario: &Scenario,
    call: &Call,
    role: Role,
    play: impl Future<Output = CallResult>,
) -> CallResult {
    let started = Instant::now();
    match AssertUnwindSafe(play).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => {
            let mut result = panicked(scenario, call, role, panic_message(payload.as_ref()));
            result.duration = started.elapsed();
            result
        }
    }
}

/// The result of a call whose handling panicked with `message`.
pub(crate) fn panicked(
    scenario: &Scenario,
    call: &Call,
    role: Role,
    message: String,
) -> CallResult {
    CallResult {
        file: scenario.path.clone(),
        scenario: scenario.name.clone(),
        call_id: call.id.clone(),
        call_name: call.name.clone(),
        method: call.path.clone(),
        role,
        duration: std::time::Duration::ZERO,
        steps: Vec::new(),
        failure: Some(Failure {
            pos: call.pos,
            step: StepKind::Call,
            reason: Box::new(FailureReason::Panicked { message }),
        }),
    }
}

/// The text a panic was raised with (`panic!` with a literal or a formatted message).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::{load_str, LoadOptions, PoolCache};

    fn scenario() -> Scenario {
        let text = "call: calculator.CalculatorService/Maximum\nscript:\n  - client: {number: 1}\n";
        load_str(
            Path::new("p.yaml"),
            text,
            &LoadOptions::default(),
            &mut PoolCache::default(),
        )
        .expect("a valid scenario")
    }

    fn a_call_that_panics(n: u32) -> CallResult {
        panic!("index {n} out of range")
    }

    #[tokio::test]
    async fn a_panic_while_playing_is_the_calls_failure_with_its_message() {
        let scenario = scenario();
        let call = &scenario.calls[0];
        let result = caught(&scenario, call, Role::Server, async {
            a_call_that_panics(7)
        })
        .await;
        let failure = result.failure.expect("a failure");
        match *failure.reason {
            FailureReason::Panicked { message } => assert_eq!(message, "index 7 out of range"),
            other => panic!("not a panic: {other:?}"),
        }
        assert_eq!(result.call_id, call.id);
    }

    #[tokio::test]
    async fn wrong_twin_a_call_that_does_not_panic_keeps_its_own_result() {
        let scenario = scenario();
        let call = &scenario.calls[0];
        let own = panicked(&scenario, call, Role::Client, "own".into());
        let result = caught(&scenario, call, Role::Client, async { own }).await;
        assert_eq!(result.role, Role::Client);
        assert!(matches!(
            result.failure.map(|f| *f.reason),
            Some(FailureReason::Panicked { message }) if message == "own"
        ));
    }

    #[test]
    fn messages_of_both_panic_forms_are_kept() {
        assert_eq!(panic_message(&"literal"), "literal");
        assert_eq!(panic_message(&String::from("formatted")), "formatted");
        assert_eq!(panic_message(&5u8), "(a panic without a message)");
    }
}
