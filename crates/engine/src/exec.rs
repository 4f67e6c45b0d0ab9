//! PLACEHOLDER: the executor. Public surface fixed here.
use crate::api::{CommandError, Effect, Event, Incident, Status, User, Waiting};
use crate::clock::Clock;
use crate::model::Deployment;
use crate::script::ScriptHost;
use crate::validate::Problem;
use serde_json::{Map, Value};

/// A deployment with its scripts compiled: immutable, shared by all its instances.
pub struct Engine {
    pub deployment: Deployment,
    pub scripts: ScriptHost,
}

/// What a command runs with.
pub struct Ctx<'a> {
    pub clock: &'a dyn Clock,
    /// The user submitting (for `currentUser` and access checks).
    pub user: Option<&'a User>,
    /// Enforce ResponsibleUser / ResponsibleTeam.
    pub enforce_access: bool,
}

/// The state of one process instance. Serialisable; holds no references to the model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Instance {
    pub status: Status,
}

impl Engine {
    /// Validates and compiles. Errors (severity error) prevent execution.
    pub fn new(deployment: Deployment) -> Result<(Engine, Vec<Problem>), Vec<Problem>> {
        let _ = deployment;
        todo!()
    }
    /// Starts an instance of `process_id` (or the only executable process).
    pub fn start(&self, process_id: Option<&str>, variables: Map<String, Value>, ctx: &Ctx) -> Result<(Instance, Vec<Effect>), CommandError> {
        let _ = (process_id, variables, ctx);
        todo!()
    }
    /// Applies an event. On `Err` the instance is unchanged.
    pub fn apply(&self, instance: &mut Instance, event: Event, ctx: &Ctx) -> Result<Vec<Effect>, CommandError> {
        let _ = (instance, event, ctx);
        todo!()
    }
    /// What the instance waits on now.
    pub fn waiting(&self, instance: &Instance) -> Vec<Waiting> {
        let _ = instance;
        todo!()
    }
    /// The flow-node ids entered so far, in order.
    pub fn path(&self, instance: &Instance) -> Vec<String> {
        let _ = instance;
        todo!()
    }
    /// The process-level variables.
    pub fn variables(&self, instance: &Instance) -> Map<String, Value> {
        let _ = instance;
        todo!()
    }
    pub fn incidents(&self, instance: &Instance) -> Vec<Incident> {
        let _ = instance;
        todo!()
    }
    /// The earliest pending timer.
    pub fn next_timer(&self, instance: &Instance) -> Option<jiff::Timestamp> {
        let _ = instance;
        todo!()
    }
}
