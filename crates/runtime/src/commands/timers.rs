//! Timers: the cron preview.

use super::*;

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GetCronPreviewInput {
    #[serde(deserialize_with = "de::text")]
    pub cron_expression: String,
    /// An IANA zone name (default `UTC`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub time_zone: Option<String>,
    /// How many run times (default 5).
    #[serde(default, deserialize_with = "de::preview_count")]
    pub count: Option<i64>,
    /// Preview from this RFC 3339 time instead of now.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GetCronPreviewOutput {
    pub cron_expression: String,
    pub time_zone: String,
    /// The next run times in UTC (RFC 3339).
    pub next_run_times: Vec<String>,
    /// The same times in the job's zone, with their offset.
    pub local_times: Vec<String>,
}

/// The most run times a cron preview answers.
pub(crate) const MAX_PREVIEW: i64 = 100;
