//! Baton's BPMN 2.0 engine.
//!
//! Pure by design: no I/O, no threads, no SQL, no wall clock. Files come in as text, time comes
//! in through a [`Clock`], and everything that must leave the engine (callbacks to register,
//! timers to schedule, signals thrown) comes out as [`Effect`] values. The same code therefore
//! runs a simulation on a virtual clock and a durable instance in `baton serve`.
//!
//! Flow: [`parse`] -> [`validate`] -> [`Engine::new`] (scripts compiled once) ->
//! [`Engine::start`] / [`Engine::apply`] on an [`Instance`].

pub mod api;
pub mod clock;
pub mod cron;
pub mod exec;
pub mod limits;
pub mod model;
pub mod parse;
pub mod retry;
pub mod script;
pub mod sim;
pub mod timer;
pub mod validate;

pub use api::{CommandError, Effect, Event, Incident, Status, Subscription, User, Waiting};
pub use clock::{Clock, VirtualClock};
pub use exec::{Ctx, Engine, Instance};
pub use limits::Limits;
pub use parse::{parse, ParseError};
pub use validate::{validate, Problem, Severity};
