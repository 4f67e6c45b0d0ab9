//! An instance's history: what each step did, in order.
//!
//! A step usually does several things at once (variables changed, elements entered and
//! completed, a task now waiting). They are written as ONE row of kind `step` whose data is a
//! JSON list of `[kind, elementId, data]` (`elementId` and `data` may be null; `data` is the
//! event's own JSON text), so a step costs one insert into the history table and its index
//! instead of one per event. A step with a single event writes it as a plain row.
//!
//! Reading gives the events one by one, whatever the row held: `step` rows, the `elements`
//! rows of earlier versions (a list of `[kind, elementId]`), and plain rows.

use crate::{HistoryEvent, Result, Store, Tx};
use rusqlite::params;

/// The row kind that holds every event of one step.
pub const HISTORY_STEP: &str = "step";

/// The row kind earlier versions wrote for a run of element events: `[[kind, elementId], ...]`.
const HISTORY_ELEMENTS: &str = "elements";

/// One event of a step, as `Tx::history_step` writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepEvent<'a> {
    /// `elementEntered`, `variablesChanged`, `taskWaiting`, ...
    pub kind: &'a str,
    pub element_id: Option<&'a str>,
    /// The event's JSON text, if it has any.
    pub data: Option<String>,
}

impl Tx<'_> {
    /// Appends a history event.
    pub fn history(
        &self,
        guid: &str,
        at: &str,
        kind: &str,
        element_id: Option<&str>,
        data: Option<&str>,
    ) -> Result<()> {
        self.tx
            .prepare_cached("INSERT INTO history (instance_guid, at, kind, element_id, data) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![guid, at, kind, element_id, data])?;
        Ok(())
    }

    /// Appends the events of one step (in order) as one row; nothing for no events.
    pub fn history_step(&self, guid: &str, at: &str, events: &[StepEvent]) -> Result<()> {
        match StepRow::of(events)? {
            Some(row) => self.history_row(guid, at, &row),
            None => Ok(()),
        }
    }

    /// Appends a row made by `StepRow::of`.
    pub fn history_row(&self, guid: &str, at: &str, row: &StepRow) -> Result<()> {
        self.history(
            guid,
            at,
            &row.kind,
            row.element_id.as_deref(),
            row.data.as_deref(),
        )
    }
}

/// The history row of one step, made before the step's transaction (see `Tx::history_row`).
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    kind: String,
    element_id: Option<String>,
    data: Option<String>,
}

impl StepRow {
    /// The row that holds `events`: the event itself when there is one, a `step` row when
    /// there are more, None when there are none.
    pub fn of(events: &[StepEvent]) -> Result<Option<StepRow>> {
        Ok(match events {
            [] => None,
            [one] => Some(StepRow {
                kind: one.kind.to_string(),
                element_id: one.element_id.map(str::to_string),
                data: one.data.clone(),
            }),
            many => {
                let list: Vec<(&str, Option<&str>, Option<&str>)> = many
                    .iter()
                    .map(|e| (e.kind, e.element_id, e.data.as_deref()))
                    .collect();
                let data = serde_json::to_string(&list)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                Some(StepRow {
                    kind: HISTORY_STEP.to_string(),
                    element_id: None,
                    data: Some(data),
                })
            }
        })
    }
}

impl Store {
    /// History events of an instance, in the order they happened: rows that hold several
    /// events come back as one event each (sharing their row's `seq` and `at`).
    pub fn history(&self, guid: &str) -> Result<Vec<HistoryEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, kind, element_id, data FROM history WHERE instance_guid = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![guid], |r| {
            Ok(HistoryEvent {
                seq: r.get(0)?,
                at: r.get(1)?,
                kind: r.get(2)?,
                element_id: r.get(3)?,
                data: r.get(4)?,
            })
        })?;
        let mut out = Vec::new();
        for row in rows {
            expand(row?, &mut out);
        }
        Ok(out)
    }
}

/// Pushes the events a row holds. A row whose list cannot be read comes back as it is.
fn expand(row: HistoryEvent, out: &mut Vec<HistoryEvent>) {
    let one = |kind: String, element_id: Option<String>, data: Option<String>| HistoryEvent {
        seq: row.seq,
        at: row.at.clone(),
        kind,
        element_id,
        data,
    };
    let data = row.data.as_deref().unwrap_or("");
    if row.kind == HISTORY_STEP {
        if let Ok(list) =
            serde_json::from_str::<Vec<(String, Option<String>, Option<String>)>>(data)
        {
            out.extend(list.into_iter().map(|(k, e, d)| one(k, e, d)));
            return;
        }
    } else if row.kind == HISTORY_ELEMENTS {
        if let Ok(list) = serde_json::from_str::<Vec<(String, String)>>(data) {
            out.extend(list.into_iter().map(|(k, e)| one(k, Some(e), None)));
            return;
        }
    }
    out.push(row);
}
