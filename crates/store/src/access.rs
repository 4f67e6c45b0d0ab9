//! Users, teams and API tokens. Tokens are stored as SHA-256 hashes: the secret is shown once,
//! when it is created, and a copy of the database does not hand out working tokens. A fast hash
//! is enough because tokens are 128-bit random values, not passwords people choose.

use crate::{Result, Store, StoreError, Tx};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

/// A user and the teams they belong to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRow {
    /// The user's stable number (`User:{id}` in seed 003's ids): never reused.
    pub id: i64,
    pub user_name: String,
    pub is_admin: bool,
    pub teams: Vec<String>,
    /// The user's role (`GetUserRoleQuery`): left out of answers when the user has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub created_at: String,
}

/// An API token's public face: never the secret, nor its hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRow {
    pub id: i64,
    pub user_name: String,
    pub label: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl Store {
    pub fn user_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
    }

    pub fn user(&self, name: &str) -> Result<Option<UserRow>> {
        type Row = (i64, String, bool, Option<String>, String);
        let row: Option<Row> = self
            .conn
            .prepare_cached(
                "SELECT i.id, u.name, u.is_admin, u.role, u.created_at FROM users u
                 JOIN user_ids i ON i.user_name = u.name WHERE u.name = ?1",
            )?
            .query_row(params![name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        row.map(|(id, user_name, is_admin, role, created_at)| {
            Ok(UserRow {
                id,
                teams: self.teams_of(&user_name)?,
                user_name,
                is_admin,
                role,
                created_at,
            })
        })
        .transpose()
    }

    /// The user with this stable number (see [`UserRow::id`]).
    pub fn user_by_id(&self, id: i64) -> Result<Option<UserRow>> {
        let name: Option<String> = self
            .conn
            .prepare_cached("SELECT user_name FROM user_ids WHERE id = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?;
        match name {
            Some(n) => self.user(&n),
            None => Ok(None),
        }
    }

    fn teams_of(&self, name: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT team FROM team_members WHERE user_name = ?1 ORDER BY team")?;
        let rows = stmt.query_map(params![name], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every user with their teams, by name.
    pub fn users(&self) -> Result<Vec<UserRow>> {
        let names: Vec<String> = {
            let mut stmt = self.conn.prepare("SELECT name FROM users ORDER BY name")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        names
            .iter()
            .filter_map(|n| self.user(n).transpose())
            .collect()
    }

    /// Every team with its members: `(team, [user names])`, by team name.
    pub fn teams(&self) -> Result<Vec<(String, Vec<String>)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT team, user_name FROM team_members ORDER BY team, user_name")?;
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for (team, user) in rows {
            match out.last_mut() {
                Some((t, members)) if *t == team => members.push(user),
                _ => out.push((team, vec![user])),
            }
        }
        Ok(out)
    }

    /// The user a live (not revoked) token hash belongs to.
    pub fn user_by_token_hash(&self, hash: &str) -> Result<Option<UserRow>> {
        let name: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT user_name FROM api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row(params![hash], |r| r.get(0))
            .optional()?;
        match name {
            Some(n) => self.user(&n),
            None => Ok(None),
        }
    }

    pub fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT rowid, user_name, label, created_at, revoked_at FROM api_tokens
             WHERE ?1 IS NULL OR user_name = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map(params![user], |r| {
            Ok(TokenRow {
                id: r.get(0)?,
                user_name: r.get(1)?,
                label: r.get(2)?,
                created_at: r.get(3)?,
                revoked_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Tx<'_> {
    /// Creates a user; a taken name is a `Conflict`.
    pub fn create_user(&self, name: &str, is_admin: bool, at: &str) -> Result<()> {
        let n = self.tx.execute(
            "INSERT OR IGNORE INTO users (name, is_admin, created_at) VALUES (?1, ?2, ?3)",
            params![name, is_admin, at],
        )?;
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "user '{name}' already exists"
            )));
        }
        self.tx.execute(
            "INSERT INTO user_ids (user_name) VALUES (?1)",
            params![name],
        )?;
        Ok(())
    }

    /// Sets (or, with `None`, clears) a user's role; an unknown user is `NotFound`.
    pub fn set_user_role(&self, name: &str, role: Option<&str>) -> Result<()> {
        let n = self.tx.execute(
            "UPDATE users SET role = ?2 WHERE name = ?1",
            params![name, role],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("no user '{name}'")));
        }
        Ok(())
    }

    fn require_user(&self, name: &str) -> Result<()> {
        let found: bool = self.tx.query_row(
            "SELECT COUNT(*) > 0 FROM users WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )?;
        if found {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("no user '{name}'")))
        }
    }

    /// Adds a user to a team (teams exist by having members). Answers false if already a member.
    pub fn add_team_member(&self, team: &str, user: &str) -> Result<bool> {
        self.require_user(user)?;
        Ok(self.tx.execute(
            "INSERT OR IGNORE INTO team_members (team, user_name) VALUES (?1, ?2)",
            params![team, user],
        )? > 0)
    }

    /// Answers false if the user was not in the team.
    pub fn remove_team_member(&self, team: &str, user: &str) -> Result<bool> {
        self.require_user(user)?;
        Ok(self.tx.execute(
            "DELETE FROM team_members WHERE team = ?1 AND user_name = ?2",
            params![team, user],
        )? > 0)
    }

    /// Stores a token's hash for a user; answers the token's id.
    pub fn insert_token(
        &self,
        hash: &str,
        user: &str,
        label: Option<&str>,
        at: &str,
    ) -> Result<i64> {
        self.require_user(user)?;
        self.tx.execute(
            "INSERT INTO api_tokens (token_hash, user_name, label, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![hash, user, label, at],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Answers false if there is no live token with that id.
    pub fn revoke_token(&self, id: i64, at: &str) -> Result<bool> {
        Ok(self.tx.execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE rowid = ?1 AND revoked_at IS NULL",
            params![id, at],
        )? > 0)
    }
}

/// Who reads a list or an instance, when it is not an administrator: their name (None for
/// nobody signed in) and their teams. Functions that take `Option<&Viewer>` answer everything
/// for `None` (administrators, the owner).
///
/// A viewer may read an instance when they started it, when a member of one of their teams
/// started it (current membership), or when it has an open form task they may work on
/// (assigned to them or one of their teams, or to nobody).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Viewer {
    pub user: Option<String>,
    pub teams: Vec<String>,
}

/// Why a viewer may read an instance, if they may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// They started it, or a member of one of their teams did: read and act on it.
    Started,
    /// It has an open form task they may work on: read it and submit that task.
    Task,
}

/// Whether a ResponsibleUser / ResponsibleTeam pair lets `user` with `teams` work on a task
/// (each may list several names, comma separated; a task with neither is open to everyone).
pub fn may_work(
    user: Option<&str>,
    teams: &[String],
    responsible_user: Option<&str>,
    responsible_team: Option<&str>,
) -> bool {
    let listed =
        |list: Option<&str>, who: &str| list.is_some_and(|l| l.split(',').any(|x| x.trim() == who));
    (responsible_user.is_none() && responsible_team.is_none())
        || user.is_some_and(|u| listed(responsible_user, u))
        || teams.iter().any(|t| listed(responsible_team, t))
}

/// The SQL condition "the viewer may read the instance whose guid is in `col`", over the
/// parameters of [`Scope`]: ?1 everything (administrators), ?2 the user, ?3 their teams (a JSON
/// array), ?4 the instances with a task they may work on (a JSON array).
pub(crate) fn readable(col: &str) -> String {
    format!(
        "(?1 OR EXISTS (SELECT 1 FROM instances v WHERE v.guid = {col} AND (v.started_by = ?2
             OR v.started_by IN (SELECT user_name FROM team_members WHERE team IN (SELECT value FROM json_each(?3)))))
          OR {col} IN (SELECT value FROM json_each(?4)))"
    )
}

/// The bound values of [`readable`]'s parameters, in order.
pub(crate) struct Scope {
    pub all: bool,
    pub user: Option<String>,
    pub teams: String,
    pub tasks: String,
}

impl Store {
    /// The parameters [`readable`] needs for a viewer (None: everything).
    pub(crate) fn scope(&self, viewer: Option<&Viewer>) -> Result<Scope> {
        let Some(v) = viewer else {
            return Ok(Scope {
                all: true,
                user: None,
                teams: "[]".into(),
                tasks: "[]".into(),
            });
        };
        let tasks = self.workable_instances(v)?;
        Ok(Scope {
            all: false,
            user: v.user.clone(),
            teams: serde_json::to_string(&v.teams).unwrap_or_else(|_| "[]".into()),
            tasks: serde_json::to_string(&tasks).unwrap_or_else(|_| "[]".into()),
        })
    }

    /// The instances with an open form task the viewer may work on.
    fn workable_instances(&self, v: &Viewer) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT instance_guid, responsible_user, responsible_team FROM user_tasks ORDER BY instance_guid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut out: Vec<String> = Vec::new();
        for row in rows {
            let (guid, ru, rt) = row?;
            if may_work(v.user.as_deref(), &v.teams, ru.as_deref(), rt.as_deref())
                && out.last() != Some(&guid)
            {
                out.push(guid);
            }
        }
        Ok(out)
    }

    /// Whether a viewer may read an instance, and why: `Ok(None)` when they may not, and when
    /// there is no such instance (the caller answers both alike).
    pub fn grant(&self, guid: &str, viewer: &Viewer) -> Result<Option<Grant>> {
        let teams = serde_json::to_string(&viewer.teams).unwrap_or_else(|_| "[]".into());
        let started: Option<bool> = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(started_by = ?2 OR started_by IN
                     (SELECT user_name FROM team_members WHERE team IN (SELECT value FROM json_each(?3))), 0)
                 FROM instances WHERE guid = ?1",
            )?
            .query_row(params![guid, viewer.user, teams], |r| r.get(0))
            .optional()?;
        match started {
            None => return Ok(None),
            Some(true) => return Ok(Some(Grant::Started)),
            Some(false) => {}
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT responsible_user, responsible_team FROM user_tasks WHERE instance_guid = ?1",
        )?;
        let rows = stmt.query_map(params![guid], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
            ))
        })?;
        for row in rows {
            let (ru, rt) = row?;
            if may_work(
                viewer.user.as_deref(),
                &viewer.teams,
                ru.as_deref(),
                rt.as_deref(),
            ) {
                return Ok(Some(Grant::Task));
            }
        }
        Ok(None)
    }
}

/// Bounds of every paged listing: a page holds 1 to [`MAX_PAGE_SIZE`] items, and page numbers
/// run from 1 to [`MAX_PAGE_NUMBER`], so the offset `(page - 1) * size` always fits.
pub const MAX_PAGE_SIZE: i64 = 1000;
pub const MAX_PAGE_NUMBER: i64 = 1_000_000;

/// The `(LIMIT, OFFSET)` of a page, with both values brought into their bounds (the bus checks
/// them first and names the field; this only keeps the arithmetic from wrapping).
pub fn page_window(page: i64, size: i64) -> (i64, i64) {
    let size = size.clamp(1, MAX_PAGE_SIZE);
    let page = page.clamp(1, MAX_PAGE_NUMBER);
    let offset = (page - 1).checked_mul(size).unwrap_or(i64::MAX);
    (size, offset)
}
