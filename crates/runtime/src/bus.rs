//! The command bus: which handler runs a command, who may run it, and the two ways to call
//! it: `execute_as` from a thread, `execute_async` from an async task (whose start or task
//! completion waits for its group commit without holding a thread, see `batch`).

use crate::{batch, isolation, Caller, Code, Error, Handler, Reply, Runtime, Wait};
use baton_engine::User;
use serde_json::Value;
use std::sync::Arc;

/// Commands only an administrator may run (others get 403).
const ADMIN_ONLY: &[&str] = &[
    "DeployProcessDefinitionCommand",
    "CreateUserCommand",
    "SetUserRoleCommand",
    "AddUserToTeamCommand",
    "RemoveUserFromTeamCommand",
    // Jobs run commands, code and processes with administrator rights.
    "CreateRecurringJobCommand",
    "UpdateRecurringJobCommand",
    "ExecuteRecurringJobCommand",
    "DeleteRecurringJobCommand",
    // Webhook configurations run commands, code and processes with administrator rights.
    "CreateWebHookConfigCommand",
    "UpdateWebHookConfigCommand",
    "DeleteWebHookConfigCommand",
    "ActivateWebHookConfigCommand",
    "DeactivateWebHookConfigCommand",
    "ReplayWebhookRequestCommand",
    // Stored webhook requests hold whatever gateways sent: payment and personal data.
    "GetWebhookRequestListQuery",
    // Events out: subscriptions see every instance's data, custom webhooks send secrets.
    "CreateEventSubscriptionCommand",
    "DeleteEventSubscriptionCommand",
    "SetSecretCommand",
    "CreateCustomWebhookCommand",
    "DeleteCustomWebhookCommand",
    "GetCustomWebhookListQuery",
    "GetDeliveryListQuery",
    "RedeliverCommand",
    "SendTestEventCommand",
    // Incoming webhook applications start and complete work as whoever they impersonate.
    "CreateIncomingWebhookApplicationCommand",
    "DeleteIncomingWebhookApplicationCommand",
    "RegenerateIncomingWebhookApplicationTokenCommand",
    "GetIncomingWebhookApplicationListQuery",
    // Limits against abuse from outside (docs/security.md).
    "GetSecuritySettingsQuery",
    "SetSecuritySettingsCommand",
    // The limits every engine runs under (docs/limits.md).
    "GetEngineLimitsQuery",
    "SetEngineLimitsCommand",
    // Whether forms without ResponsibleUser / ResponsibleTeam load without a token (access.rs).
    "GetFormSettingsQuery",
    "SetFormSettingsCommand",
    // Simulation sessions run models on their own in-memory runtimes (sim_session).
    "StartSimulationCommand",
    "SimulationStepCommand",
    "SimulationBackCommand",
    "GetSimulationQuery",
    "EndSimulationCommand",
    "RunScenarioQuery",
];

impl Runtime {
    /// Runs one command or query. With a user, ResponsibleUser / ResponsibleTeam are enforced;
    /// without one it runs as the owner. Never panics on bad input: every failure is a `Reply`.
    pub fn execute(&self, cmd: &str, data: &Value, user: Option<&User>) -> Reply {
        let caller = match user {
            Some(u) => Caller::user(u.clone()),
            None => Caller::owner(),
        };
        self.execute_as(cmd, data, &caller)
    }

    /// Runs a command for a caller.
    pub fn execute_as(&self, cmd: &str, data: &Value, caller: &Caller) -> Reply {
        let span = tracing::info_span!("command", cmd, user = caller.name());
        let _entered = span.enter();
        let started = std::time::Instant::now();
        let reply = self.dispatch(cmd, data, caller);
        log_reply(&reply, started);
        reply
    }

    /// Finds the command first (an unknown name is a 400 whatever `data` holds), then checks
    /// who may run it and what `data` is, then runs it. A handler that panics (a bug) answers
    /// an internal error; its panic text goes to the log only.
    fn dispatch(&self, cmd: &str, data: &Value, caller: &Caller) -> Reply {
        let handler = match admit(cmd, data, caller) {
            Ok(h) => h,
            Err(e) => return Reply::failed(e),
        };
        let result = isolation::guard("the command", || handler(self, data, caller));
        match result {
            Ok((message, data)) => Reply::ok(&message, data),
            Err(e) => Reply::failed(e),
        }
    }

    /// Runs a command for a caller from an async task. A start, a task's completion or a
    /// callback waits for its group commit without holding a thread: the writer's own thread
    /// commits it and wakes the task (see `batch`). Other commands run on the caller's thread,
    /// as `execute_as` does. The answer is the same as `execute_as`'s.
    pub async fn execute_async(
        self: &Arc<Self>,
        cmd: &str,
        data: &Value,
        caller: &Caller,
    ) -> Reply {
        let _ = self.commits.home.set(Arc::downgrade(self));
        // Counted while under way, so that a lone one commits in place (see `batch`).
        let _counted = waits_as_task(cmd).then(|| batch::UnderWay::new(&self.commits));
        let span = tracing::info_span!("command", cmd, user = caller.name());
        let run = async {
            let started = std::time::Instant::now();
            let result = match admit(cmd, data, caller) {
                Err(e) => Err(e),
                Ok(handler) => {
                    let answer = async {
                        match cmd {
                            "StartProcessInstanceCommand" => {
                                self.start_in(Wait::Task, data, caller).await
                            }
                            "SignalProcessInstanceCommand" => {
                                self.signal_in(Wait::Task, data, caller).await
                            }
                            "ReturnCallbackCommand" => {
                                self.return_callback_in(Wait::Task, data, caller).await
                            }
                            _ => handler(self, data, caller),
                        }
                    };
                    isolation::guard_async("the command", answer).await
                }
            };
            let reply = match result {
                Ok((message, data)) => Reply::ok(&message, data),
                Err(e) => Reply::failed(e),
            };
            // A command stopped on an async worker runs again, and is logged then (`inline`).
            if !crate::inline::stopped() {
                log_reply(&reply, started);
            }
            reply
        };
        tracing::Instrument::instrument(run, span).await
    }
}

/// Whether `execute_async` waits for the command's commit as a task (the commands of its
/// `match`); the HTTP doors run the others on a blocking thread from start to end.
pub(crate) fn waits_as_task(cmd: &str) -> bool {
    matches!(
        cmd,
        "StartProcessInstanceCommand" | "SignalProcessInstanceCommand" | "ReturnCallbackCommand"
    )
}

/// A command's handler, once its name is known, the caller may run it and `data` is an
/// object (an unknown name is refused whatever `data` holds).
fn admit(cmd: &str, data: &Value, caller: &Caller) -> Result<Handler, Error> {
    let Some(handler) = handler(cmd) else {
        return Err(
            Error::field("cmd", format!("unknown command '{cmd}'")).with_code(Code::UnknownCommand)
        );
    };
    if ADMIN_ONLY.contains(&cmd) && !caller.admin {
        return Err(Error::forbidden(format!(
            "{cmd} needs an administrator; {} is not one",
            caller.name()
        )));
    }
    if !data.is_object() {
        return Err(Error::field("data", "data must be a JSON object".into()));
    }
    Ok(handler)
}

/// Logs a command's answer and how long it took.
fn log_reply(reply: &Reply, started: std::time::Instant) {
    let micros = started.elapsed().as_micros() as u64;
    if reply.is_successful {
        tracing::debug!(micros, "{}", reply.message);
    } else {
        tracing::info!(micros, code = ?reply.code, errors = ?reply.errors, "{}", reply.message);
    }
}

/// The handler of a command, `None` for a name the bus does not know.
#[allow(unused_variables)]
pub(crate) fn handler(cmd: &str) -> Option<Handler> {
    let handler: Handler = match cmd {
        "DeployProcessDefinitionCommand" => |rt, data, caller| rt.deploy(data),
        "ValidateProcessDefinitionQuery" => |rt, data, caller| rt.validate(data),
        "GetProcessDefinitionByIdQuery" => |rt, data, caller| rt.get_definition(data),
        "GetProcessDefinitionListQuery" => |rt, data, caller| rt.list_definitions(data),
        "StartProcessInstanceCommand" => |rt, data, caller| rt.start(data, caller),
        "SignalProcessInstanceCommand" => |rt, data, caller| rt.signal(data, caller),
        "CancelProcessInstanceCommand" => |rt, data, caller| rt.cancel(data, caller),
        "RetryIncidentCommand" => |rt, data, caller| rt.retry(data, caller),
        "GetProcessInstanceByIdQuery" => |rt, data, caller| rt.get_instance(data, caller),
        "GetProcessInstanceListQuery" => |rt, data, caller| rt.list_instances(data, caller),
        "GetInstanceHistoryQuery" => |rt, data, caller| rt.history(data, caller),
        "GetIncidentListQuery" => |rt, data, caller| rt.incidents(data, caller),
        "GetTaskFormQuery" => |rt, data, caller| rt.task_form(data, caller),
        "GetTaskListQuery" => |rt, data, caller| rt.task_list(data, caller),
        "ReturnCallbackCommand" => |rt, data, caller| rt.return_callback(data, caller),
        "CorrelateMessageCommand" => |rt, data, caller| rt.correlate(data, caller),
        "BroadcastSignalCommand" => |rt, data, caller| rt.broadcast(data, caller),
        "GetCallbackRegistryListQuery" => |rt, data, caller| rt.callbacks(data, caller),
        "GetMessageBufferListQuery" => |rt, data, caller| rt.buffer_list(data, caller),
        "CreateUserCommand" => |rt, data, caller| rt.create_user(data),
        "AddUserToTeamCommand" => |rt, data, caller| rt.team_member(data, true),
        "RemoveUserFromTeamCommand" => |rt, data, caller| rt.team_member(data, false),
        "GetUserListQuery" => |rt, data, caller| rt.users(),
        "SetUserRoleCommand" => |rt, data, caller| rt.set_user_role(data),
        "GetUserRoleQuery" => |rt, data, caller| rt.user_role(data),
        "GetTeamListQuery" => |rt, data, caller| rt.teams(),
        "CreateApiTokenCommand" => |rt, data, caller| rt.create_token(data, caller),
        "GetApiTokenListQuery" => |rt, data, caller| rt.token_list(caller),
        "RevokeApiTokenCommand" => |rt, data, caller| rt.revoke_token(data, caller),
        "CreateRecurringJobCommand" => |rt, data, caller| rt.create_job(data, caller),
        "UpdateRecurringJobCommand" => |rt, data, caller| rt.update_job(data),
        "GetRecurringJobByIdQuery" => |rt, data, caller| rt.get_job(data),
        "GetRecurringJobListQuery" => |rt, data, caller| rt.list_jobs(data),
        "ExecuteRecurringJobCommand" => |rt, data, caller| rt.execute_job(data),
        "DeleteRecurringJobCommand" => |rt, data, caller| rt.delete_job(data),
        "GetRecurringJobRunListQuery" => |rt, data, caller| rt.job_runs(data),
        "GetCronPreviewQuery" => |rt, data, caller| rt.cron_preview(data),
        "GetTimerListQuery" => |rt, data, caller| rt.timer_list(data, caller),
        "CreateWebHookConfigCommand" => |rt, data, caller| rt.create_hook(data, caller),
        "UpdateWebHookConfigCommand" => |rt, data, caller| rt.update_hook(data, caller),
        "DeleteWebHookConfigCommand" => |rt, data, caller| rt.delete_hook(data),
        "ActivateWebHookConfigCommand" => |rt, data, caller| rt.activate_hook(data, true),
        "DeactivateWebHookConfigCommand" => |rt, data, caller| rt.activate_hook(data, false),
        "GetWebHookConfigListQuery" => |rt, data, caller| rt.list_hooks(data),
        "GetWebHookConfigByIdQuery" => |rt, data, caller| rt.get_hook(data),
        "LookupWebHookByKeyCommand" => |rt, data, caller| rt.lookup_hook(data),
        "GetWebhookRequestListQuery" => |rt, data, caller| rt.hook_requests(data),
        "CreateIncomingWebhookApplicationCommand" => |rt, data, caller| rt.create_hook_app(data),
        "DeleteIncomingWebhookApplicationCommand" => |rt, data, caller| rt.delete_hook_app(data),
        "RegenerateIncomingWebhookApplicationTokenCommand" => {
            |rt, data, caller| rt.regenerate_hook_app_token(data)
        }
        "GetIncomingWebhookApplicationListQuery" => |rt, data, caller| rt.list_hook_apps(),
        "ReplayWebhookRequestCommand" => |rt, data, caller| rt.replay_hook(data),
        "CreateEventSubscriptionCommand" => |rt, data, caller| rt.create_subscription(data),
        "DeleteEventSubscriptionCommand" => |rt, data, caller| rt.delete_subscription(data),
        "GetEventSubscriptionListQuery" => |rt, data, caller| rt.list_subscriptions(data),
        "SetSecretCommand" => |rt, data, caller| rt.set_secret(data),
        "CreateCustomWebhookCommand" => |rt, data, caller| rt.create_custom_webhook(data),
        "DeleteCustomWebhookCommand" => |rt, data, caller| rt.delete_custom_webhook(data),
        "GetCustomWebhookListQuery" => |rt, data, caller| rt.list_custom_webhooks(),
        "GetDeliveryListQuery" => |rt, data, caller| rt.list_deliveries(data),
        "RedeliverCommand" => |rt, data, caller| rt.redeliver(data),
        "SendTestEventCommand" => |rt, data, caller| rt.send_test_event(data),
        "GetSecuritySettingsQuery" => |rt, data, caller| rt.get_security_settings(),
        "SetSecuritySettingsCommand" => |rt, data, caller| rt.set_security_settings(data),
        "GetEngineLimitsQuery" => |rt, data, caller| rt.get_engine_limits(),
        "SetEngineLimitsCommand" => |rt, data, caller| rt.set_engine_limits(data),
        "GetFormSettingsQuery" => |rt, data, caller| rt.get_form_settings(),
        "SetFormSettingsCommand" => |rt, data, caller| rt.set_form_settings(data),
        "StartSimulationCommand" => |rt, data, caller| rt.start_simulation(data),
        "SimulationStepCommand" => |rt, data, caller| rt.simulation_step(data),
        "SimulationBackCommand" => |rt, data, caller| rt.simulation_back(data),
        "GetSimulationQuery" => |rt, data, caller| rt.get_simulation(data),
        "EndSimulationCommand" => |rt, data, caller| rt.end_simulation(data),
        "RunScenarioQuery" => |rt, data, caller| rt.run_scenario(data),
        _ => return None,
    };
    Some(handler)
}
