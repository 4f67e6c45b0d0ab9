//! The change feed: after the commit of every step that wrote an instance (start, signal,
//! callback, message, signal broadcast, timer, cancel, retry, ...), the runtime publishes one
//! `InstanceChange` on a broadcast channel. Live views follow it (the desktop app's
//! `instance-changed` event, `GET /api/v1/events` in `baton serve`).
//!
//! Publishing costs nothing when nobody listens: the step checks the receiver count before it
//! builds the change. A receiver that falls more than `CAPACITY` changes behind loses the
//! oldest ones and is told how many (`RecvError::Lagged`): it should reload what it shows.

use crate::Runtime;
use serde::Serialize;
use tokio::sync::broadcast;
use ts_rs::TS;

/// Changes kept for a slow receiver before it starts losing the oldest.
pub const CAPACITY: usize = 1024;

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
}

pub(crate) fn channel() -> broadcast::Sender<InstanceChange> {
    broadcast::channel(CAPACITY).0
}

impl Runtime {
    /// A receiver of every instance change committed from now on.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<InstanceChange> {
        self.changes.subscribe()
    }

    /// Whether anyone listens (steps skip building the change otherwise).
    pub(crate) fn changes_watched(&self) -> bool {
        self.changes.receiver_count() > 0
    }

    /// Publishes a committed step of `guid` (call only after its commit).
    pub(crate) fn publish_change(
        &self,
        guid: String,
        engine: &baton_engine::Engine,
        definition_id: i64,
        status: &str,
        at: String,
    ) {
        let process_key = engine
            .deployment
            .processes
            .iter()
            .find(|p| p.is_executable)
            .map(|p| p.id.clone())
            .unwrap_or_default();
        // An error only means every receiver went away since the check.
        let _ = self.changes.send(InstanceChange {
            instance_guid: guid,
            process_key,
            process_definition_id: definition_id,
            status: status.to_string(),
            at,
        });
    }
}
