//! The small models many runtime tests share, built once here so every test file waits on,
//! correlates with and snapshots the same diagram. Each returns the model's XML.

use crate::Model;

/// `OrderFlow`: start, an intermediate catch of message `Paid` keyed by the variable
/// `orderId` (element `WaitPaid`), end.
pub fn order_flow() -> String {
    Model::process("OrderFlow")
        .message("M", "Paid")
        .start("s")
        .catch_message("WaitPaid", "M")
        .props(&[("correlationKey", "orderId")])
        .end("e")
        .chain(&["s", "WaitPaid", "e"])
        .xml()
}

/// `CallbackFlow`: start, a webhook-mode receive task `Callback` keyed by `context.ref`, end.
pub fn callback_flow() -> String {
    Model::process("CallbackFlow")
        .start("s")
        .receive_task("Callback")
        .props(&[("correlationKey", "context.ref")])
        .end("e")
        .chain(&["s", "Callback", "e"])
        .xml()
}

/// `AlarmFlow`: start, an intermediate catch of signal `Alarm` (element `WaitAlarm`), end.
pub fn alarm_flow() -> String {
    Model::process("AlarmFlow")
        .signal("S", "Alarm")
        .start("s")
        .catch_signal("WaitAlarm", "S")
        .end("e")
        .chain(&["s", "WaitAlarm", "e"])
        .xml()
}

/// `Calc`: a script task that throws when `amount` > 100 (an incident), else sets
/// `total = amount * 2`.
pub fn calc() -> String {
    Model::process("Calc")
        .start("s")
        .script_task(
            "Calc",
            r#"if amount > 100 { throw "too large" }; total = amount * 2;"#,
        )
        .end("e")
        .chain(&["s", "Calc", "e"])
        .xml()
}

/// `Chores`: three user tasks in parallel: `Open` (named "Anyone", form `open-form`) for
/// everyone, `ForBob` for user bob, `ForTellers` for team TELLERS.
pub fn chores() -> String {
    Model::process("Chores")
        .start("s")
        .parallel("fork")
        .user_task("Open")
        .named("Anyone")
        .props(&[("FormKey", "open-form")])
        .user_task("ForBob")
        .props(&[("ResponsibleUser", "bob")])
        .user_task("ForTellers")
        .props(&[("ResponsibleTeam", "TELLERS")])
        .end("e1")
        .end("e2")
        .end("e3")
        .flow("s", "fork")
        .flow("fork", "Open")
        .flow("fork", "ForBob")
        .flow("fork", "ForTellers")
        .flow("Open", "e1")
        .flow("ForBob", "e2")
        .flow("ForTellers", "e3")
        .xml()
}

/// Seed 000's "Process Authorization" script as printed: the instance's initiator must be a
/// MANAGER (`GetUserRoleQuery`), else it throws "Unauthorized: Manager approval required".
pub const SEED_000_AUTHORIZATION: &str = "var initiator = execution.getVariable('InitiatedBy');
var userRole = doQuery('GetUserRoleQuery', { userId: initiator });
if (userRole !== 'MANAGER') {
throw new Error('Unauthorized: Manager approval required');
}";

/// `Authorized`: start, the JavaScript task `check` running [`SEED_000_AUTHORIZATION`], the
/// user task `Review` (with `review_props`, e.g. its ResponsibleUser), end.
pub fn authorized(review_props: &[(&str, &str)]) -> String {
    Model::process("Authorized")
        .start("s")
        .js_script_task("check", SEED_000_AUTHORIZATION)
        .user_task("Review")
        .props(review_props)
        .end("e")
        .chain(&["s", "check", "Review", "e"])
        .xml()
}
