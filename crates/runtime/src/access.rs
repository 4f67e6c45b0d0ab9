//! Users, teams and API tokens on the bus, the token check of the HTTP doors, and who may see
//! and act on which instance.
//!
//! A token's user is `currentUser` in scripts and is held to ResponsibleUser / ResponsibleTeam;
//! an administrator is not. Tokens are random 128-bit values shown once; the store keeps their
//! SHA-256 hash only.
//!
//! Instances (docs/runtime.md "Who sees what"): an administrator sees and acts on every
//! instance. Anyone else reads an instance they started, one a member of one of their teams
//! started, and one with an open form task they may work on; they act on it (cancel, retry)
//! only in the first two cases, and submit the task in the third. An instance they may not read
//! is answered exactly as one that does not exist (NOT_FOUND, the same message), so its guid or
//! correlation id tells them nothing; one they may read but not act on is FORBIDDEN. Lists
//! leave out what they may not read.

use crate::{opt_text, text, Answer, Caller, Error, Runtime};
use baton_engine::User;
use baton_store::{Grant, InstanceRow, Viewer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The name of the administrator a first start creates.
pub const FIRST_ADMIN: &str = "admin";

pub(crate) fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_token() -> String {
    format!("bt_{}", uuid::Uuid::new_v4().simple())
}

/// A user or team name: what people type, without surprises in lists and scripts.
fn name_ok(field: &'static str, name: &str) -> Result<(), Error> {
    if name.len() > 100 || name.chars().any(|c| c.is_control() || c == ',') {
        return Err(Error::field(
            field,
            format!("{field} must be at most 100 characters, without commas or control characters"),
        ));
    }
    Ok(())
}

/// A role as given (`role` of CreateUserCommand and SetUserRoleCommand): a word such as
/// MANAGER, trimmed; null or empty is none.
fn role_of(data: &Value) -> Result<Option<String>, Error> {
    match data.get("role") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(r)) => {
            let r = r.trim();
            if r.is_empty() {
                return Ok(None);
            }
            name_ok("role", r)?;
            Ok(Some(r.to_string()))
        }
        Some(_) => Err(Error::field(
            "role",
            "role must be text such as \"MANAGER\", or null for none".into(),
        )),
    }
}

/// What the first start of a server did.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// A new token was made for the administrator: print it, it is not stored in clear.
    NewToken(String),
    /// The given token was registered (or already was).
    Given,
    /// Users and tokens exist already; nothing was created.
    Existing,
}

/// Why a request to act as another user was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ActAsError {
    /// Only administrators may act for another user.
    #[error("actAs: only an administrator may act for another user")]
    NotAllowed,
    /// The user named in actAs does not exist.
    #[error("actAs: no user named '{0}'")]
    NoSuchUser(String),
    /// The users table could not be read.
    #[error("actAs: the users could not be read: {0}")]
    Store(String),
}

impl Runtime {
    /// The caller a bearer token stands for, if the token is live.
    pub fn authenticate(&self, token: &str) -> Option<Caller> {
        self.token_caller(token).ok().flatten()
    }

    /// As [`Runtime::authenticate`], telling a token that is not live (`Ok(None)`) from one
    /// that could not be checked (the database failed).
    pub(crate) fn token_caller(&self, token: &str) -> Result<Option<Caller>, Error> {
        let row = self.store().user_by_token_hash(&hash(token.trim()))?;
        Ok(row.map(|row| Caller {
            user: Some(User {
                name: row.user_name,
                teams: row.teams,
            }),
            admin: row.is_admin,
        }))
    }

    /// The caller an administrator becomes when acting for `user_name` (the task inbox's "act
    /// as": `X-Baton-Act-As` over HTTP, `actAs` in the desktop's request). The result is held to
    /// ResponsibleUser / ResponsibleTeam and is `currentUser` in scripts, exactly as that user's
    /// own token would be; acting for another administrator keeps their rights. Only an
    /// administrator (or the desktop owner) may act for someone else.
    pub fn acting_as(&self, caller: &Caller, user_name: &str) -> Result<Caller, ActAsError> {
        let user_name = user_name.trim();
        if caller.user.as_ref().is_some_and(|u| u.name == user_name) {
            return Ok(caller.clone());
        }
        if !caller.admin {
            return Err(ActAsError::NotAllowed);
        }
        let row = self
            .store()
            .user(user_name)
            .map_err(|e| ActAsError::Store(e.to_string()))?
            .ok_or_else(|| ActAsError::NoSuchUser(user_name.to_string()))?;
        Ok(Caller {
            user: Some(User {
                name: row.user_name,
                teams: row.teams,
            }),
            admin: row.is_admin,
        })
    }

    /// A server's first start: creates the administrator if there are no users, and registers
    /// `token` for them (or makes one when the administrator has none).
    pub fn bootstrap(&self, token: Option<&str>) -> Result<Bootstrap, String> {
        let now = self.now();
        let mut store = self.writer();
        let first = store.user_count().map_err(|e| e.to_string())? == 0;
        let has_token =
            token.is_some_and(|t| store.user_by_token_hash(&hash(t)).ok().flatten().is_some());
        let admin_tokens = store
            .tokens(Some(FIRST_ADMIN))
            .map_err(|e| e.to_string())?
            .iter()
            .filter(|t| t.revoked_at.is_none())
            .count();
        let tx = store.transaction().map_err(|e| e.to_string())?;
        if first {
            tx.create_user(FIRST_ADMIN, true, &now)
                .map_err(|e| e.to_string())?;
        }
        let outcome = match token {
            Some(_) if has_token => Bootstrap::Given,
            Some(t) => {
                tx.insert_token(&hash(t), FIRST_ADMIN, Some("serve --token"), &now)
                    .map_err(|e| e.to_string())?;
                Bootstrap::Given
            }
            None if first || admin_tokens == 0 => {
                let t = new_token();
                tx.insert_token(&hash(&t), FIRST_ADMIN, Some("first start"), &now)
                    .map_err(|e| e.to_string())?;
                Bootstrap::NewToken(t)
            }
            None => Bootstrap::Existing,
        };
        tx.commit().map_err(|e| e.to_string())?;
        Ok(outcome)
    }

    pub(crate) fn create_user(&self, data: &Value) -> Answer {
        let name = text(data, "userName")?;
        name_ok("userName", name)?;
        let is_admin = match data.get("isAdmin") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(Error::field(
                    "isAdmin",
                    "isAdmin must be true or false".into(),
                ))
            }
        };
        let teams: Vec<String> = match data.get("teams") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|t| {
                    t.as_str()
                        .filter(|s| !s.trim().is_empty())
                        .map(str::to_string)
                })
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    Error::field("teams", "teams must be a list of team names".into())
                })?,
            Some(_) => {
                return Err(Error::field(
                    "teams",
                    "teams must be a list of team names".into(),
                ))
            }
        };
        for t in &teams {
            name_ok("teams", t)?;
        }
        let role = role_of(data)?;
        let now = self.now();
        let mut store = self.writer();
        let tx = store.transaction()?;
        tx.create_user(name, is_admin, &now).map_err(|e| match e {
            baton_store::StoreError::Conflict(m) => {
                Error::field("userName", m).with_code(crate::Code::Conflict)
            }
            other => other.into(),
        })?;
        for t in &teams {
            tx.add_team_member(t, name)?;
        }
        if role.is_some() {
            tx.set_user_role(name, role.as_deref())?;
        }
        tx.commit()?;
        // Its stable number (seed 003 addresses users as `User:N`).
        let id = self.store().user(name)?.map(|u| u.id);
        let mut answer = json!({"id": id, "userName": name, "isAdmin": is_admin, "teams": teams});
        if let Some(r) = &role {
            answer["role"] = json!(r);
        }
        Ok(("User created".into(), answer))
    }

    /// SetUserRoleCommand: `userName`, `role` (text, or null to clear it).
    pub(crate) fn set_user_role(&self, data: &Value) -> Answer {
        let name = text(data, "userName")?;
        if data.get("role").is_none() {
            return Err(Error::field(
                "role",
                "role is required: text such as \"MANAGER\", or null to clear it".into(),
            ));
        }
        let role = role_of(data)?;
        let mut store = self.writer();
        let tx = store.transaction()?;
        tx.set_user_role(name, role.as_deref())
            .map_err(|e| match e {
                baton_store::StoreError::NotFound(m) => Error::no_such("userName", m),
                other => other.into(),
            })?;
        tx.commit()?;
        let message = if role.is_some() {
            "Role set"
        } else {
            "Role cleared"
        };
        Ok((message.into(), json!({"userName": name, "role": role})))
    }

    /// GetUserRoleQuery (seed 000's process authorization): `userId` (the user's name, as the
    /// seed passes `InitiatedBy`; `userName` is taken too, or the stable number) answers the
    /// role as `data` itself, a string, or null when the user has none.
    pub(crate) fn user_role(&self, data: &Value) -> Answer {
        let (field, given) = match (data.get("userId"), data.get("userName")) {
            (Some(v), _) if !v.is_null() => ("userId", v),
            (_, Some(v)) if !v.is_null() => ("userName", v),
            _ => {
                return Err(Error::field(
                    "userId",
                    "userId is required: the user's name (InitiatedBy holds the starter's)".into(),
                ))
            }
        };
        let store = self.store();
        let user = match given {
            Value::String(name) => store.user(name.trim())?,
            Value::Number(n) => match n.as_i64() {
                Some(id) => store.user_by_id(id)?,
                None => None,
            },
            _ => {
                return Err(Error::field(
                    field,
                    format!("{field} must be a user's name or number"),
                ))
            }
        };
        let user = user.ok_or_else(|| Error::no_such(field, format!("no user {given}")))?;
        Ok(("OK".into(), json!(user.role)))
    }

    pub(crate) fn team_member(&self, data: &Value, add: bool) -> Answer {
        let user = text(data, "userName")?;
        let team = text(data, "team")?;
        name_ok("team", team)?;
        let mut store = self.writer();
        let tx = store.transaction()?;
        let missing = |e: baton_store::StoreError| match e {
            baton_store::StoreError::NotFound(m) => Error::no_such("userName", m),
            other => other.into(),
        };
        let changed = if add {
            tx.add_team_member(team, user).map_err(missing)?
        } else {
            tx.remove_team_member(team, user).map_err(missing)?
        };
        tx.commit()?;
        if changed {
            // Open change feeds forget whose instances they showed (`changes`).
            self.access_changed();
        }
        let message = match (add, changed) {
            (true, true) => "User added to team",
            (true, false) => "User was already in the team",
            (false, true) => "User removed from team",
            (false, false) => "User was not in the team",
        };
        Ok((
            message.into(),
            json!({"userName": user, "team": team, "changed": changed}),
        ))
    }

    pub(crate) fn users(&self) -> Answer {
        let rows = self.store().users()?;
        Ok((
            "OK".into(),
            json!({"items": rows, "totalCount": rows.len()}),
        ))
    }

    pub(crate) fn teams(&self) -> Answer {
        let teams = self.store().teams()?;
        let items: Vec<Value> = teams
            .iter()
            .map(|(t, m)| json!({"team": t, "members": m}))
            .collect();
        Ok((
            "OK".into(),
            json!({"items": items, "totalCount": items.len()}),
        ))
    }

    /// CreateApiTokenCommand: an administrator makes tokens for anyone, a user for themselves.
    /// The token is in this answer only.
    pub(crate) fn create_token(&self, data: &Value, caller: &Caller) -> Answer {
        let user = match (opt_text(data, "userName")?, &caller.user) {
            (Some(u), _) => u.to_string(),
            (None, Some(me)) => me.name.clone(),
            (None, None) => return Err(Error::field("userName", "userName is required".into())),
        };
        if !caller.admin && caller.user.as_ref().is_none_or(|me| me.name != user) {
            return Err(Error::forbidden(format!(
                "only an administrator makes tokens for other users ({} asked for {user})",
                caller.name()
            )));
        }
        let label = opt_text(data, "label")?;
        let token = new_token();
        let now = self.now();
        let mut store = self.writer();
        let tx = store.transaction()?;
        let id = tx
            .insert_token(&hash(&token), &user, label, &now)
            .map_err(|e| match e {
                baton_store::StoreError::NotFound(m) => Error::no_such("userName", m),
                other => other.into(),
            })?;
        tx.commit()?;
        Ok((
            "API token created; it is shown only this once".into(),
            json!({"id": id, "token": token, "userName": user, "label": label}),
        ))
    }

    /// GetApiTokenListQuery: every token for an administrator, one's own otherwise; never secrets.
    pub(crate) fn token_list(&self, caller: &Caller) -> Answer {
        let mine = (!caller.admin)
            .then(|| caller.user.as_ref().map(|u| u.name.clone()))
            .flatten();
        let rows = self.store().tokens(mine.as_deref())?;
        Ok((
            "OK".into(),
            json!({"items": rows, "totalCount": rows.len()}),
        ))
    }

    pub(crate) fn revoke_token(&self, data: &Value, caller: &Caller) -> Answer {
        let id = data
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| Error::field("id", "id (the token's id) is required".into()))?;
        let owner = self
            .store()
            .tokens(None)?
            .into_iter()
            .find(|t| t.id == id)
            .map(|t| t.user_name);
        let Some(owner) = owner else {
            return Err(Error::no_such("id", format!("no API token {id}")));
        };
        if !caller.admin && caller.user.as_ref().is_none_or(|me| me.name != owner) {
            return Err(Error::forbidden(format!(
                "token {id} belongs to {owner}; only they or an administrator may revoke it"
            )));
        }
        let now = self.now();
        let mut store = self.writer();
        let tx = store.transaction()?;
        let revoked = tx.revoke_token(id, &now)?;
        tx.commit()?;
        Ok((
            if revoked {
                "API token revoked"
            } else {
                "API token was already revoked"
            }
            .into(),
            json!({"id": id, "revoked": true}),
        ))
    }
}

impl Caller {
    /// What the caller reads lists as: None for an administrator (everything).
    pub(crate) fn viewer(&self) -> Option<Viewer> {
        (!self.admin).then(|| Viewer {
            user: self.user.as_ref().map(|u| u.name.clone()),
            teams: self
                .user
                .as_ref()
                .map(|u| u.teams.clone())
                .unwrap_or_default(),
        })
    }
}

/// The answer for an instance that does not exist, and for one the caller may not read.
fn no_instance(guid: &str) -> Error {
    Error::no_such("instanceGuid", format!("no process instance '{guid}'"))
}

impl Runtime {
    /// Lets every user see every instance, as before instances had owners: a simulation has one
    /// author, and its scenario users are held only to the tasks' rules.
    pub fn open_instances_to_all(&self) {
        self.instances_open
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// What the caller reads lists as: None for everything (an administrator, or every caller
    /// when instances are open to all).
    pub(crate) fn viewer_of(&self, caller: &Caller) -> Option<Viewer> {
        if self
            .instances_open
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return None;
        }
        caller.viewer()
    }

    /// Whether the caller may read the instance (an administrator: whenever it exists). Answers
    /// false for an instance that does not exist. For the change feed and other doors that
    /// filter what they pass on.
    pub fn may_read_instance(&self, caller: &Caller, guid: &str) -> bool {
        match self.viewer_of(caller) {
            None => self.store().instance(guid).is_ok(),
            Some(v) => matches!(self.store().grant(guid, &v), Ok(Some(_))),
        }
    }

    /// Why the caller may read an instance; NOT_FOUND (as for a missing instance) if they may
    /// not. An administrator gets `Started` without a look at the store.
    fn grant_for(&self, caller: &Caller, guid: &str) -> Result<Grant, Error> {
        let Some(viewer) = self.viewer_of(caller) else {
            return Ok(Grant::Started);
        };
        self.store()
            .grant(guid, &viewer)?
            .ok_or_else(|| no_instance(guid))
    }

    /// Checks that the caller may read the instance (NOT_FOUND otherwise, as for one that does
    /// not exist).
    pub(crate) fn check_read(&self, caller: &Caller, guid: &str) -> Result<(), Error> {
        self.grant_for(caller, guid).map(|_| ())
    }

    /// The stored instance, if the caller may read it (NOT_FOUND otherwise).
    pub(crate) fn readable_row(&self, caller: &Caller, guid: &str) -> Result<InstanceRow, Error> {
        let row = self.instance_row(guid)?;
        self.check_read(caller, guid)?;
        Ok(row)
    }

    /// Checks that the caller may act on the whole instance (cancel it, retry its incidents):
    /// they started it, a teammate did, or they are an administrator. One who may only read it
    /// (through a task) is FORBIDDEN; one who may not read it gets NOT_FOUND.
    pub(crate) fn check_act(&self, caller: &Caller, guid: &str, what: &str) -> Result<(), Error> {
        match self.grant_for(caller, guid)? {
            Grant::Started => Ok(()),
            Grant::Task => Err(Error::forbidden(format!(
                "{} may work on a task of instance {guid} but not {what} it; \
                 only whoever started it, their teammates or an administrator may",
                caller.name()
            ))),
        }
    }
}

// ----- task forms (GetTaskFormQuery, seed 002) ---------------------------------------------------

/// The one command a caller without a token may send to the command doors: loading a public
/// form (seed 002's "Auth: Optional"), while `publicForms` is on.
pub const PUBLIC_FORM_COMMAND: &str = "GetTaskFormQuery";

/// The `settings` row (and the field of Get/SetFormSettings) that turns public forms on or off.
const PUBLIC_FORMS: &str = "publicForms";

/// Whether the caller came without a token (a public form's reader, or a scenario step without
/// a user).
fn is_anonymous(caller: &Caller) -> bool {
    caller.user.is_none() && !caller.admin
}

/// A ResponsibleUser / ResponsibleTeam as the engine reads it: blank is none.
fn named(list: Option<&str>) -> Option<&str> {
    list.filter(|s| !s.trim().is_empty())
}

impl Runtime {
    /// Whether a form whose task has no ResponsibleUser / ResponsibleTeam loads without a
    /// token: the `publicForms` setting (on unless an administrator turned it off). Read from
    /// the `settings` table each time: only callers without a token ask.
    pub fn public_forms(&self) -> Result<bool, Error> {
        let rows = self.store().settings()?;
        Ok(rows
            .iter()
            .find(|(name, _)| name == PUBLIC_FORMS)
            .and_then(|(_, v)| serde_json::from_str::<bool>(v).ok())
            .unwrap_or(true))
    }

    /// GetFormSettingsQuery (administrators): `{publicForms}`.
    pub(crate) fn get_form_settings(&self) -> Answer {
        Ok(("OK".into(), json!({ PUBLIC_FORMS: self.public_forms()? })))
    }

    /// SetFormSettingsCommand (administrators): `publicForms` true or false; answers the
    /// settings as they now are.
    pub(crate) fn set_form_settings(&self, data: &Value) -> Answer {
        let on =
            match data.get(PUBLIC_FORMS) {
                Some(Value::Bool(b)) => *b,
                _ => return Err(Error::field(
                    PUBLIC_FORMS,
                    "publicForms must be true (forms without ResponsibleUser / ResponsibleTeam \
                     load without a token) or false (every form needs a token)"
                        .into(),
                )),
            };
        self.write(move |tx| Ok(tx.set_setting(PUBLIC_FORMS, &on.to_string())?))?;
        Ok(("Form settings saved".into(), json!({ PUBLIC_FORMS: on })))
    }

    /// The answer for a form a caller without a token may not load: the same words whether the
    /// instance does not exist or its form is not public, so that a guid tells nothing.
    pub(crate) fn no_public_form(&self, guid: &str) -> Error {
        Error::no_such(
            "instanceGuid",
            format!(
                "no process instance '{guid}' with a public form (a form with a ResponsibleUser \
                 or ResponsibleTeam needs a bearer token)"
            ),
        )
    }

    /// Where GetTaskFormQuery looks without a token: by `instanceGuid` only (a correlation id
    /// such as PAYMENT-12345 can be guessed; a guid cannot), and only while public forms are on.
    pub(crate) fn check_anonymous_form(
        &self,
        caller: &Caller,
        by_correlation: bool,
    ) -> Result<(), Error> {
        if !is_anonymous(caller) {
            return Ok(());
        }
        if !self.public_forms()? {
            return Err(Error::new(
                crate::Code::Unauthorized,
                "public forms are turned off on this server (publicForms): send a bearer token",
            ));
        }
        if by_correlation {
            return Err(Error::new(
                crate::Code::Unauthorized,
                "without a bearer token a form is loaded by its instanceGuid only; \
                 send a token to load it by correlationId",
            ));
        }
        Ok(())
    }

    /// Whether the caller may load the form of a waiting task: an administrator always, anyone
    /// for a task with neither ResponsibleUser nor ResponsibleTeam, otherwise a listed user or a
    /// member of a listed team (the rule submitting it is held to).
    pub(crate) fn may_load_form(
        caller: &Caller,
        responsible_user: Option<&str>,
        responsible_team: Option<&str>,
    ) -> bool {
        if caller.admin {
            return true;
        }
        let teams = caller
            .user
            .as_ref()
            .map(|u| u.teams.as_slice())
            .unwrap_or_default();
        baton_store::may_work(
            caller.user.as_ref().map(|u| u.name.as_str()),
            teams,
            named(responsible_user),
            named(responsible_team),
        )
    }

    /// The refusal of a form the caller may not load although they may read its instance.
    pub(crate) fn form_refused(
        &self,
        caller: &Caller,
        guid: &str,
        task_id: &str,
        responsible_user: Option<&str>,
        responsible_team: Option<&str>,
    ) -> Error {
        if is_anonymous(caller) {
            return self.no_public_form(guid);
        }
        let mut rule = Vec::new();
        if let Some(u) = named(responsible_user) {
            rule.push(format!("user '{u}'"));
        }
        if let Some(t) = named(responsible_team) {
            rule.push(format!("members of team {t}"));
        }
        Error::forbidden(format!(
            "user '{}' may not load the form of task '{task_id}' of instance {guid}: it is \
             assigned to {}",
            caller.name(),
            rule.join(" or ")
        ))
    }
}

/// A failed GetTaskFormQuery still answers `data`, with a `status` other than `SUCCESS` (the
/// failure's code: `NOT_FOUND`, `FORBIDDEN`, `UNAUTHORIZED`, `REJECTED`, `INVALID`, `INTERNAL`)
/// and the `message`, because seed 002's frontend reads `result.data.status` before anything
/// else. The envelope (`isSuccessful: false`, `code`, `errors`) is as for any failure.
pub(crate) fn form_failure(e: Error) -> Error {
    let mut e = e.public();
    let message = e.line();
    e.data = Box::new(json!({"status": e.code.as_str(), "message": message}));
    e
}
