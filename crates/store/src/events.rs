//! Events out (schema v6): subscriptions, named secrets, custom webhooks and the delivery log.
//!
//! A subscription is for all events (no `process_key`, no `instance_guid`), one definition
//! (`process_key`) or one instance (`instance_guid`). A step writes one `deliveries` row per
//! matching subscription or custom webhook in its own transaction; the sender works through the
//! `Pending` rows whose `next_attempt_at` has come (index `deliveries_due`).
//!
//! Since schema v12 the events of one instance are numbered 1, 2, 3, ... (`event_sequences`,
//! taken by `next_event_sequence` in the transaction that writes the deliveries), and each
//! delivery row keeps its instance and its event's number.

use crate::{Result, Store, Tx};
use rusqlite::{params, OptionalExtension};

/// An event subscription as stored (`secret` is never answered by the runtime's queries).
#[derive(Debug, Clone, PartialEq)]
pub struct EventSubscriptionRow {
    pub id: i64,
    pub url: String,
    /// JSON list of event names, `"*"` for all.
    pub events: String,
    pub process_key: Option<String>,
    pub instance_guid: Option<String>,
    pub secret: String,
    pub is_active: bool,
    pub created_at: String,
}

fn subscription_row(r: &rusqlite::Row) -> rusqlite::Result<EventSubscriptionRow> {
    Ok(EventSubscriptionRow {
        id: r.get(0)?,
        url: r.get(1)?,
        events: r.get(2)?,
        process_key: r.get(3)?,
        instance_guid: r.get(4)?,
        secret: r.get(5)?,
        is_active: r.get(6)?,
        created_at: r.get(7)?,
    })
}

const SUBSCRIPTION_SELECT: &str = "SELECT id, url, events, process_key, instance_guid, secret,
        is_active, created_at FROM event_subscriptions";

/// A custom webhook as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomWebhookRow {
    pub id: i64,
    pub name: String,
    pub url: String,
    /// `POST`, `PUT` or `PATCH`.
    pub method: String,
    /// JSON list of element ids or names.
    pub state_names: String,
    /// JSON object of header name to value (`{secret.NAME}` references unresolved).
    pub headers: String,
    /// JSON `{"transformer": "jmespath", "mapping"}`, or None to send the event as it is.
    pub transform: Option<String>,
    pub process_key: Option<String>,
    pub created_at: String,
}

fn webhook_row(r: &rusqlite::Row) -> rusqlite::Result<CustomWebhookRow> {
    Ok(CustomWebhookRow {
        id: r.get(0)?,
        name: r.get(1)?,
        url: r.get(2)?,
        method: r.get(3)?,
        state_names: r.get(4)?,
        headers: r.get(5)?,
        transform: r.get(6)?,
        process_key: r.get(7)?,
        created_at: r.get(8)?,
    })
}

const WEBHOOK_SELECT: &str = "SELECT id, name, url, method, state_names, headers, transform,
        process_key, created_at FROM custom_webhooks";

/// One delivery (an event for one subscription or custom webhook) and how its attempts went.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRow {
    /// A uuid: the payload's `id` and the `webhook-id` header.
    pub id: String,
    pub subscription_id: Option<i64>,
    pub custom_webhook_id: Option<i64>,
    pub event_name: String,
    pub payload: String,
    pub url: String,
    /// `Pending`, `Delivered` or `Failed`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    /// The start of the body of the last answer (see `Attempt::response`); None when the last
    /// attempt got no answer, or for rows attempted before schema v16.
    pub last_response: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    /// The instance whose event this is (None: rows written before schema v12).
    pub instance_guid: Option<String>,
    /// The event's number within its instance (see `Tx::next_event_sequence`).
    pub sequence: Option<i64>,
    /// The secret that signs it, when not the one its kind of delivery uses (schema v18).
    pub secret_name: Option<String>,
}

fn delivery_row(r: &rusqlite::Row) -> rusqlite::Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.get(0)?,
        subscription_id: r.get(1)?,
        custom_webhook_id: r.get(2)?,
        event_name: r.get(3)?,
        payload: r.get(4)?,
        url: r.get(5)?,
        status: r.get(6)?,
        attempts: r.get(7)?,
        next_attempt_at: r.get(8)?,
        last_status_code: r.get(9)?,
        last_error: r.get(10)?,
        created_at: r.get(11)?,
        delivered_at: r.get(12)?,
        instance_guid: r.get(13)?,
        sequence: r.get(14)?,
        last_response: r.get(15)?,
        secret_name: r.get(16)?,
    })
}

const DELIVERY_SELECT: &str = "SELECT id, subscription_id, custom_webhook_id, event_name, payload,
        url, status, attempts, next_attempt_at, last_status_code, last_error, created_at,
        delivered_at, instance_guid, sequence, last_response, secret_name FROM deliveries";

/// A delivery to write.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    pub id: &'a str,
    pub subscription_id: Option<i64>,
    pub custom_webhook_id: Option<i64>,
    pub event_name: &'a str,
    pub payload: &'a str,
    pub url: &'a str,
    pub at: &'a str,
    /// The instance whose event this is, and the event's number within it.
    pub instance_guid: Option<&'a str>,
    pub sequence: Option<i64>,
    /// The secret that signs it, when not the one its kind of delivery uses.
    pub secret_name: Option<&'a str>,
}

/// What an instance's events carry about it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSource {
    pub definition_id: i64,
    pub process_key: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub correlation_id: Option<String>,
    pub business_key: Option<String>,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub status: &'a str,
    pub next_attempt_at: Option<&'a str>,
    pub status_code: Option<i64>,
    pub error: Option<&'a str>,
    pub delivered_at: Option<&'a str>,
    /// The start of the receiver's answer body (the sender keeps the first 2 KiB), when it
    /// answered.
    pub response: Option<&'a str>,
}

impl Store {
    /// Whether any active subscription or custom webhook exists (steps skip events otherwise).
    pub fn has_event_targets(&self) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM event_subscriptions WHERE is_active = 1)
                 OR EXISTS (SELECT 1 FROM custom_webhooks)",
            [],
            |r| r.get(0),
        )?)
    }

    /// Subscriptions, oldest first (of one instance when given).
    pub fn event_subscriptions(&self, instance: Option<&str>) -> Result<Vec<EventSubscriptionRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "{SUBSCRIPTION_SELECT} WHERE (?1 IS NULL OR instance_guid = ?1) ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![instance], subscription_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn event_subscription(&self, id: i64) -> Result<Option<EventSubscriptionRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("{SUBSCRIPTION_SELECT} WHERE id = ?1"),
                params![id],
                subscription_row,
            )
            .optional()?)
    }

    pub fn custom_webhooks(&self) -> Result<Vec<CustomWebhookRow>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{WEBHOOK_SELECT} ORDER BY id"))?;
        let rows = stmt.query_map([], webhook_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn custom_webhook(&self, id: i64) -> Result<Option<CustomWebhookRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("{WEBHOOK_SELECT} WHERE id = ?1"),
                params![id],
                webhook_row,
            )
            .optional()?)
    }

    pub fn secret(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM secrets WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn delivery(&self, id: &str) -> Result<Option<DeliveryRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("{DELIVERY_SELECT} WHERE id = ?1"),
                params![id],
                delivery_row,
            )
            .optional()?)
    }

    /// One page of deliveries, newest first (of one status, of one instance, when given), and
    /// the total.
    pub fn deliveries(
        &self,
        status: Option<&str>,
        instance: Option<&str>,
        event: Option<&str>,
        page: i64,
        size: i64,
    ) -> Result<(Vec<DeliveryRow>, i64)> {
        crate::page_of(
            &self.conn,
            ("deliveries", DELIVERY_SELECT, "rowid DESC"),
            ("", &[]),
            &[
                ("status = ?", crate::given(&status)),
                ("instance_guid = ?", crate::given(&instance)),
                ("event_name = ?", crate::given(&event)),
            ],
            Some((page, size)),
            delivery_row,
        )
    }

    /// Pending deliveries due at `now`, oldest first.
    pub fn due_deliveries(&self, now: &str, limit: i64) -> Result<Vec<DeliveryRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{DELIVERY_SELECT} WHERE status = 'Pending' AND next_attempt_at <= ?1
                 ORDER BY next_attempt_at, rowid LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![now, limit], delivery_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the earliest pending delivery is due.
    pub fn next_delivery_due(&self) -> Result<Option<String>> {
        Ok(self.conn.query_row(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'Pending'",
            [],
            |r| r.get(0),
        )?)
    }
}

impl Tx<'_> {
    /// The instance's definition, key, times and correlation id, for its events.
    pub fn event_source(&self, guid: &str) -> Result<Option<EventSource>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT i.definition_id, d.process_key, i.started_at, i.ended_at, i.correlation_id,
                     i.business_key
                 FROM instances i JOIN definitions d ON d.id = i.definition_id WHERE i.guid = ?1",
            )?
            .query_row(params![guid], |r| {
                Ok(EventSource {
                    definition_id: r.get(0)?,
                    process_key: r.get(1)?,
                    started_at: r.get(2)?,
                    ended_at: r.get(3)?,
                    correlation_id: r.get(4)?,
                    business_key: r.get(5)?,
                })
            })
            .optional()?)
    }

    /// Active subscriptions that see an instance's events: all-events ones, its definition's
    /// and its own.
    pub fn subscriptions_for(
        &self,
        process_key: &str,
        guid: &str,
    ) -> Result<Vec<EventSubscriptionRow>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "{SUBSCRIPTION_SELECT} WHERE is_active = 1 AND (instance_guid = ?2
                 OR (instance_guid IS NULL AND (process_key IS NULL OR process_key = ?1)))
             ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![process_key, guid], subscription_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Custom webhooks for a process key (and those for every process).
    pub fn custom_webhooks_for(&self, process_key: &str) -> Result<Vec<CustomWebhookRow>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "{WEBHOOK_SELECT} WHERE process_key IS NULL OR process_key = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![process_key], webhook_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn insert_event_subscription(
        &self,
        url: &str,
        events: &str,
        process_key: Option<&str>,
        instance_guid: Option<&str>,
        secret: &str,
        at: &str,
    ) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO event_subscriptions (url, events, process_key, instance_guid, secret, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![url, events, process_key, instance_guid, secret, at],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Answers whether it existed. Its deliveries stay in the log.
    pub fn delete_event_subscription(&self, id: i64) -> Result<bool> {
        Ok(self
            .tx
            .execute("DELETE FROM event_subscriptions WHERE id = ?1", params![id])?
            > 0)
    }

    pub fn set_secret(&self, name: &str, value: &str) -> Result<()> {
        self.tx.execute(
            "INSERT INTO secrets (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![name, value],
        )?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn insert_custom_webhook(
        &self,
        name: &str,
        url: &str,
        method: &str,
        state_names: &str,
        headers: &str,
        transform: Option<&str>,
        process_key: Option<&str>,
        at: &str,
    ) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO custom_webhooks (name, url, method, state_names, headers, transform, process_key, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![name, url, method, state_names, headers, transform, process_key, at],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    pub fn delete_custom_webhook(&self, id: i64) -> Result<bool> {
        Ok(self
            .tx
            .execute("DELETE FROM custom_webhooks WHERE id = ?1", params![id])?
            > 0)
    }

    /// When the task `task_id` of an instance was last given an assignee: the time of its
    /// newest `taskAssigned` history event (a plain row, or one event of a `step` row).
    pub fn task_assigned_at(&self, guid: &str, task_id: &str) -> Result<Option<String>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT at, kind, element_id, data FROM history WHERE instance_guid = ?1
                 AND (kind = 'taskAssigned' OR (kind = 'step' AND data LIKE '%\"taskAssigned\"%'))
             ORDER BY seq DESC",
        )?;
        let mut rows = stmt.query(params![guid])?;
        while let Some(r) = rows.next()? {
            let (at, kind): (String, String) = (r.get(0)?, r.get(1)?);
            let element: Option<String> = r.get(2)?;
            if kind == "taskAssigned" {
                if element.as_deref() == Some(task_id) {
                    return Ok(Some(at));
                }
                continue;
            }
            let data: Option<String> = r.get(3)?;
            let events: Vec<(String, Option<String>, Option<String>)> =
                serde_json::from_str(data.as_deref().unwrap_or("[]")).unwrap_or_default();
            if events
                .iter()
                .any(|(k, e, _)| k == "taskAssigned" && e.as_deref() == Some(task_id))
            {
                return Ok(Some(at));
            }
        }
        Ok(None)
    }

    /// Takes the next `count` event numbers of an instance (1, 2, 3, ... over its life) and
    /// answers the first. In the caller's transaction: numbers of a rolled-back step are not
    /// used, and two steps of one instance never share one.
    pub fn next_event_sequence(&self, guid: &str, count: i64) -> Result<i64> {
        // Two statements, not one with RETURNING: SQLite gathers RETURNING rows in a temporary
        // table it allocates and frees on every run (store/src/callbacks.rs says the cost).
        self.tx
            .prepare_cached(
                "INSERT INTO event_sequences (instance_guid, last) VALUES (?1, ?2)
                 ON CONFLICT (instance_guid) DO UPDATE SET last = last + excluded.last",
            )?
            .execute(params![guid, count])?;
        let last: i64 = self
            .tx
            .prepare_cached("SELECT last FROM event_sequences WHERE instance_guid = ?1")?
            .query_row(params![guid], |r| r.get(0))?;
        Ok(last - count + 1)
    }

    /// A new `Pending` delivery, due at once.
    pub fn insert_delivery(&self, d: &NewDelivery) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO deliveries (id, subscription_id, custom_webhook_id, event_name, payload,
                     url, status, attempts, next_attempt_at, created_at, instance_guid, sequence,
                     secret_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'Pending', 0, ?7, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                d.id,
                d.subscription_id,
                d.custom_webhook_id,
                d.event_name,
                d.payload,
                d.url,
                d.at,
                d.instance_guid,
                d.sequence,
                d.secret_name
            ])?;
        Ok(())
    }

    /// Records one attempt: one more in `attempts`, its status code, answer body or error, what
    /// comes next.
    pub fn record_attempt(&self, id: &str, a: &Attempt) -> Result<bool> {
        Ok(self.tx.execute(
            "UPDATE deliveries SET status = ?2, attempts = attempts + 1, next_attempt_at = ?3,
                 last_status_code = ?4, last_error = ?5, delivered_at = COALESCE(?6, delivered_at),
                 last_response = ?7
             WHERE id = ?1",
            params![
                id,
                a.status,
                a.next_attempt_at,
                a.status_code,
                a.error,
                a.delivered_at,
                a.response
            ],
        )? > 0)
    }
}

#[cfg(test)]
mod tests {
    use crate::{InstanceRow, StepEvent, Store};
    use serde_json::json;

    const AT: &str = "2026-01-01T00:00:00Z";

    fn store_with_instance() -> Store {
        let mut s = Store::open_in_memory().unwrap();
        let tx = s.transaction().unwrap();
        let (def, _) = tx.deploy("P", None, "<x/>", &json!({}), AT).unwrap();
        tx.insert_instance(&InstanceRow {
            instance_guid: "g1".into(),
            process_definition_id: def,
            status: "WAITING".into(),
            state: "{}".into(),
            business_key: None,
            correlation_id: None,
            started_at: AT.into(),
            ended_at: None,
            rev: 0,
            started_by: None,
        })
        .unwrap();
        tx.commit().unwrap();
        s
    }

    #[test]
    fn the_time_of_an_assignment_is_found_in_plain_and_step_rows() {
        let mut s = store_with_instance();
        let tx = s.transaction().unwrap();
        assert_eq!(tx.task_assigned_at("g1", "A").unwrap(), None);
        let assigned = |task| StepEvent {
            kind: "taskAssigned",
            element_id: Some(task),
            data: Some("{}".into()),
        };
        tx.history_step("g1", "t1", &[assigned("A")]).unwrap();
        let entered = StepEvent {
            kind: "elementEntered",
            element_id: Some("B"),
            data: None,
        };
        tx.history_step("g1", "t2", &[entered, assigned("B")])
            .unwrap();
        tx.history_step("g1", "t3", &[assigned("A")]).unwrap();
        assert_eq!(
            tx.task_assigned_at("g1", "A").unwrap().as_deref(),
            Some("t3")
        );
        assert_eq!(
            tx.task_assigned_at("g1", "B").unwrap().as_deref(),
            Some("t2")
        );
        assert_eq!(tx.task_assigned_at("g1", "C").unwrap(), None);
        assert_eq!(tx.task_assigned_at("g2", "A").unwrap(), None);
    }

    #[test]
    fn a_delivery_page_holds_exactly_the_rows_of_every_filter_given_newest_first() {
        let mut s = store_with_instance();
        let tx = s.transaction().unwrap();
        // d0..d5: instance g1 or none, two event names.
        for i in 0..6 {
            let id = format!("d{i}");
            tx.insert_delivery(&crate::NewDelivery {
                id: &id,
                subscription_id: None,
                custom_webhook_id: None,
                event_name: if i % 2 == 0 {
                    "workflow.completed"
                } else {
                    "callback.completed"
                },
                payload: "{}",
                url: "https://example.com/hook",
                at: AT,
                instance_guid: (i < 4).then_some("g1"),
                sequence: (i < 4).then_some(i + 1),
                secret_name: None,
            })
            .unwrap();
        }
        tx.tx
            .execute(
                "UPDATE deliveries SET status = 'Delivered' WHERE id IN ('d1', 'd2')",
                [],
            )
            .unwrap();
        tx.commit().unwrap();
        let ids = |status, instance, event, page, size| {
            let (rows, total) = s.deliveries(status, instance, event, page, size).unwrap();
            let ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
            (ids, total)
        };
        let v = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            ids(None, None, None, 1, 10),
            (v(&["d5", "d4", "d3", "d2", "d1", "d0"]), 6)
        );
        assert_eq!(
            ids(None, Some("g1"), None, 1, 10),
            (v(&["d3", "d2", "d1", "d0"]), 4)
        );
        assert_eq!(
            ids(Some("Pending"), None, None, 1, 10),
            (v(&["d5", "d4", "d3", "d0"]), 4)
        );
        assert_eq!(
            ids(None, None, Some("workflow.completed"), 1, 10),
            (v(&["d4", "d2", "d0"]), 3)
        );
        assert_eq!(
            ids(Some("Delivered"), Some("g1"), None, 1, 10),
            (v(&["d2", "d1"]), 2)
        );
        assert_eq!(
            ids(
                Some("Pending"),
                Some("g1"),
                Some("workflow.completed"),
                1,
                10
            ),
            (v(&["d0"]), 1)
        );
        // Paging counts the filtered rows, not the page.
        assert_eq!(ids(None, Some("g1"), None, 2, 3), (v(&["d0"]), 4));
        assert_eq!(ids(None, Some("g2"), None, 1, 10), (v(&[]), 0));
    }

    #[test]
    fn event_numbers_count_per_instance_from_one() {
        let mut s = store_with_instance();
        let tx = s.transaction().unwrap();
        assert_eq!(tx.next_event_sequence("g1", 3).unwrap(), 1);
        assert_eq!(tx.next_event_sequence("g1", 1).unwrap(), 4);
        assert_eq!(tx.next_event_sequence("g2", 2).unwrap(), 1);
        assert_eq!(tx.next_event_sequence("g1", 2).unwrap(), 5);
    }
}
