//! The change feed: after the commit of every step that wrote an instance (start, signal,
//! callback, message, signal broadcast, timer, cancel, retry, ...), the runtime publishes one
//! `InstanceChange` on a broadcast channel. Live views follow it (the desktop app's
//! `instance-changed` event, `GET /api/v1/events` in `baton serve`).
//!
//! Publishing costs nothing when nobody listens: the step checks the receiver count before it
//! builds the change. A receiver that falls more than `CAPACITY` changes behind loses the
//! oldest ones and is told how many (`RecvError::Lagged`): it should reload what it shows.
//!
//! A feed of a non-administrator carries only the instances its caller may read
//! (docs/security.md "Access"): those they or a current teammate started, and those with an
//! open form task they may work on. [`FeedFilter`] decides that mostly without the store:
//! - who started an instance never changes, so whether that was the caller or a teammate is
//!   read once per instance and kept, until a team's membership changes
//!   ([`Runtime::access_changed`] starts every feed's memory afresh);
//! - the open tasks can change with every step, so while any non-administrator listens, each
//!   change carries who may work on the instance's open tasks after that step ([`Audience`]),
//!   and the feed checks them in memory.
//!
//! A second channel carries one [`WebhookRequestEvent`] for every request the webhook door
//! answered, so that the request inspector can show it as it arrives; only administrators'
//! feeds carry it (the request log is theirs: `GetWebhookRequestListQuery` is admin-only).
//!
//! A third channel carries one [`JobRunEvent`] for every recurring job run that starts or
//! ends, for every feed (anyone may read a job's runs).
//!
//! So a feed reads the store once for each instance it meets (and again after a membership
//! change), not once per change.

use crate::{Caller, Runtime};
use baton_store::{may_work, Grant, Viewer};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast;
use ts_rs::TS;

/// Changes kept for a slow receiver before it starts losing the oldest.
pub const CAPACITY: usize = 1024;
/// Instances one feed remembers the starter of, at most (then it starts afresh).
const REMEMBERED: usize = 10_000;

/// One committed change of a process instance (the UI reads this type, generated into
/// `ui/src/generated/commands.ts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InstanceChange {
    pub instance_guid: String,
    pub process_key: String,
    pub process_definition_id: i64,
    /// The status after the step: `WAITING`, `COMPLETED`, `FAILED`, `CANCELLED` or `RUNNING`.
    #[ts(as = "crate::commands::InstanceStatus")]
    pub status: String,
    /// When the step was committed, RFC 3339 UTC with six fractional digits.
    pub at: String,
    /// Who may work on the instance's open form tasks after the step; only built while a
    /// non-administrator's feed is open. Never sent.
    #[serde(skip)]
    #[ts(skip)]
    pub(crate) audience: Option<Arc<Audience>>,
}

/// One request the webhook door (`/webhook/...`) answered, published after its row was written to
/// the request log (`GetWebhookRequestListQuery`; a request whose row could not be written is
/// announced all the same, without a `requestId`). Pushed to administrators only: the log holds
/// what gateways sent. It says which row the log gained and how the request ended; the list
/// query reads the row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WebhookRequestEvent {
    /// The path the request was sent to, e.g. `/webhook/paystack`.
    pub path: String,
    /// The HTTP status it was answered with.
    pub status_code: u16,
    /// The request's row in the log; null when no row could be written.
    pub request_id: Option<i64>,
    /// The configuration the request reached; null when none is configured at its path.
    pub config_id: Option<i64>,
    /// The verdict its row was recorded with (`accepted`, `duplicate`, `badSignature`, ... as
    /// `GetWebhookRequestListQuery` filters them); null when no row could be written.
    pub verdict: Option<String>,
    /// When it was answered, RFC 3339 UTC with six fractional digits.
    pub at: String,
}

/// A run of a recurring job that started or ended, published after its row was written
/// (`GetRecurringJobRunListQuery` reads it). A run that ends without starting a process changes
/// no instance, so the jobs view would otherwise not hear of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JobRunEvent {
    pub job_id: i64,
    pub run_id: i64,
    /// `Running` when it starts (`Skipped` for a run the overlap policy skipped), then
    /// `Succeeded` or `Failed`.
    pub status: String,
    /// When the row was written, RFC 3339 UTC with six fractional digits.
    pub at: String,
}

/// The open form tasks of an instance after a step: each one's ResponsibleUser and
/// ResponsibleTeam (the same rows the task inbox holds).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Audience {
    tasks: Vec<(Option<String>, Option<String>)>,
}

impl Audience {
    fn of(engine: &baton_engine::Engine, inst: &baton_engine::Instance) -> Audience {
        Audience {
            tasks: engine
                .waiting(inst)
                .into_iter()
                .filter(crate::in_inbox)
                .map(|w| (w.responsible_user, w.responsible_team))
                .collect(),
        }
    }

    /// Whether `viewer` may work on one of the tasks.
    fn admits(&self, viewer: &Viewer) -> bool {
        self.tasks.iter().any(|(user, team)| {
            may_work(
                viewer.user.as_deref(),
                &viewer.teams,
                user.as_deref(),
                team.as_deref(),
            )
        })
    }
}

/// The channel and what the feeds share.
pub(crate) struct Feed {
    sender: broadcast::Sender<InstanceChange>,
    requests: broadcast::Sender<WebhookRequestEvent>,
    runs: broadcast::Sender<JobRunEvent>,
    /// Open feeds of non-administrators (changes carry an `Audience` while there are any).
    users: AtomicUsize,
    /// Moves on whenever who may read an instance changes other than by a step.
    access: AtomicU64,
    /// Store reads made by feeds to decide (for tests of the memory above).
    reads: AtomicU64,
}

pub(crate) fn channel() -> Feed {
    Feed {
        sender: broadcast::channel(CAPACITY).0,
        requests: broadcast::channel(CAPACITY).0,
        runs: broadcast::channel(CAPACITY).0,
        users: AtomicUsize::new(0),
        access: AtomicU64::new(0),
        reads: AtomicU64::new(0),
    }
}

impl Runtime {
    /// A receiver of every instance change committed from now on.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<InstanceChange> {
        self.changes.sender.subscribe()
    }

    /// A receiver of every webhook request answered from now on (administrators' feeds only).
    pub fn subscribe_webhook_requests(&self) -> broadcast::Receiver<WebhookRequestEvent> {
        self.changes.requests.subscribe()
    }

    /// Publishes a webhook request whose row is committed (nothing to do when nobody listens).
    pub(crate) fn publish_webhook_request(
        &self,
        path: &str,
        status_code: u16,
        logged: crate::webhooks::Logged,
    ) {
        if self.changes.requests.receiver_count() == 0 {
            return;
        }
        // An error only means every receiver went away since the check.
        let _ = self.changes.requests.send(WebhookRequestEvent {
            path: path.to_string(),
            status_code,
            request_id: logged.kept.map(|k| k.id),
            config_id: logged.config_id,
            verdict: logged.kept.map(|k| k.verdict.to_string()),
            at: self.now(),
        });
    }

    /// A receiver of every recurring job run that starts or ends from now on.
    pub fn subscribe_job_runs(&self) -> broadcast::Receiver<JobRunEvent> {
        self.changes.runs.subscribe()
    }

    /// Publishes a job run whose row was written with `status` (nothing when nobody listens).
    pub(crate) fn publish_job_run(&self, job_id: i64, run_id: i64, status: &str) {
        if self.changes.runs.receiver_count() == 0 {
            return;
        }
        let _ = self.changes.runs.send(JobRunEvent {
            job_id,
            run_id,
            status: status.to_string(),
            at: self.now(),
        });
    }

    /// Whether anyone listens (steps skip building the change otherwise).
    pub(crate) fn changes_watched(&self) -> bool {
        self.changes.sender.receiver_count() > 0
    }

    /// Who may read which instance changed other than by a step (a team gained or lost a
    /// member): every feed forgets what it knew. Call after the commit.
    pub(crate) fn access_changed(&self) {
        self.changes.access.fetch_add(1, Ordering::AcqRel);
    }

    /// How many times feeds asked the store whether their caller may read an instance.
    #[doc(hidden)]
    pub fn change_feed_reads(&self) -> u64 {
        self.changes.reads.load(Ordering::Relaxed)
    }

    /// Publishes a committed step of `guid` (call only after its commit), with who may work on
    /// its open tasks when a non-administrator listens.
    pub(crate) fn publish_step(
        &self,
        guid: String,
        engine: &baton_engine::Engine,
        inst: &baton_engine::Instance,
        definition_id: i64,
        at: String,
    ) {
        let audience = (self.changes.users.load(Ordering::Acquire) > 0)
            .then(|| Arc::new(Audience::of(engine, inst)));
        let status = inst.status.as_str();
        self.send_change(guid, engine, definition_id, status, at, audience);
    }

    /// Publishes a change of `guid` committed without a step (its feeds read who may see it).
    pub(crate) fn publish_change(
        &self,
        guid: String,
        engine: &baton_engine::Engine,
        definition_id: i64,
        status: &str,
        at: String,
    ) {
        self.send_change(guid, engine, definition_id, status, at, None);
    }

    fn send_change(
        &self,
        guid: String,
        engine: &baton_engine::Engine,
        definition_id: i64,
        status: &str,
        at: String,
        audience: Option<Arc<Audience>>,
    ) {
        let process_key = engine
            .deployment
            .processes
            .iter()
            .find(|p| p.is_executable)
            .map(|p| p.id.clone())
            .unwrap_or_default();
        // An error only means every receiver went away since the check.
        let _ = self.changes.sender.send(InstanceChange {
            instance_guid: guid,
            process_key,
            process_definition_id: definition_id,
            status: status.to_string(),
            at,
            audience,
        });
    }
}

/// Decides which changes one feed passes on (see the module's text).
pub(crate) struct FeedFilter {
    rt: Arc<Runtime>,
    /// What the caller reads lists as (None: an administrator).
    viewer: Option<Viewer>,
    /// `access` when `started` was last emptied.
    access: u64,
    /// Instance -> whether the caller or a current teammate started it.
    started: HashMap<String, bool>,
}

impl FeedFilter {
    /// The filter of a feed opened by `caller`.
    pub(crate) fn new(rt: Arc<Runtime>, caller: &Caller) -> FeedFilter {
        let viewer = caller.viewer();
        if viewer.is_some() {
            rt.changes.users.fetch_add(1, Ordering::AcqRel);
        }
        let access = rt.changes.access.load(Ordering::Acquire);
        FeedFilter {
            rt,
            viewer,
            access,
            started: HashMap::new(),
        }
    }

    /// Whether the caller may see `change`. Reads the store (off the async workers) only for
    /// an instance it has not met since the last membership change.
    pub(crate) async fn admits(&mut self, change: &InstanceChange) -> bool {
        let Some(viewer) = &self.viewer else {
            return true;
        };
        // Instances open to all (a simulation): everything.
        if self.rt.instances_open.load(Ordering::Acquire) {
            return true;
        }
        let access = self.rt.changes.access.load(Ordering::Acquire);
        if access != self.access {
            self.started.clear();
            self.access = access;
        }
        let guid = &change.instance_guid;
        let audience = change.audience.as_deref();
        let known = self.started.get(guid).copied();
        let seen = match (known, audience) {
            (Some(true), _) => true,
            (Some(false), Some(a)) => a.admits(viewer),
            _ => {
                let (rt, v, g) = (self.rt.clone(), viewer.clone(), guid.clone());
                let grant = tokio::task::spawn_blocking(move || {
                    rt.changes.reads.fetch_add(1, Ordering::Relaxed);
                    rt.store().grant(&g, &v)
                })
                .await;
                let Ok(Ok(grant)) = grant else {
                    return false;
                };
                let started = grant == Some(Grant::Started);
                // Kept only if no membership changed while the store was read.
                if self.rt.changes.access.load(Ordering::Acquire) == access {
                    if self.started.len() >= REMEMBERED {
                        self.started.clear();
                    }
                    self.started.insert(guid.clone(), started);
                }
                started
                    || match audience {
                        Some(a) => a.admits(viewer),
                        None => grant.is_some(),
                    }
            }
        };
        // An ended instance changes no more.
        if matches!(change.status.as_str(), "COMPLETED" | "CANCELLED") {
            self.started.remove(guid);
        }
        seen
    }
}

impl Drop for FeedFilter {
    fn drop(&mut self) {
        if self.viewer.is_some() {
            self.rt.changes.users.fetch_sub(1, Ordering::AcqRel);
        }
    }
}
