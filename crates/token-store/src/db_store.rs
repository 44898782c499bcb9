//! `token-core`'s storage traits over diesel. Row structs stay here and are converted to domain
//! types by hand.

use std::collections::BTreeMap;

use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use token_core::StoreError;
use token_core::audit::AuditEvent;
use token_core::ids::{AccessTokenId, AccountId, BearerTokenId, LearningAreaId};
use token_core::model::{AccessToken, Account, Email, LearningArea, Name, Role, StatusFilter};
use token_core::secret::{ClientId, SecretHash};
use token_core::store::{
    AccessTokenQuery, AccessTokenRecord, AuditQuery, BearerRecord, ClientRecord, NewAccessToken, NewAccount,
    NewBearerToken, NewSession, OAuthStore, SessionRecord, Store, StoredAuditEvent,
};

use crate::connection::DbConnection;
use crate::schema::{access_tokens, accounts, audit_events, bearer_tokens, credential_epoch, learning_areas, sessions};

/// Most ids in one `last_used_at` update.
const TOUCH_CHUNK: usize = 256;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// The store over one connection (inside or outside a transaction).
pub struct DbStore<'c> {
    conn: &'c mut DbConnection,
}

impl<'c> DbStore<'c> {
    pub(crate) fn new(conn: &'c mut DbConnection) -> Self {
        Self { conn }
    }

    /// The connection, for store-level functions added by later features.
    pub fn connection(&mut self) -> &mut DbConnection {
        self.conn
    }

    fn insert_bearer_row(&mut self, new: &NewBearerToken) -> Result<BearerTokenId, StoreError> {
        let id: i64 = diesel::insert_into(bearer_tokens::table)
            .values((
                bearer_tokens::token_hash.eq(new.token_hash.as_slice()),
                bearer_tokens::access_token_id.eq(new.access_token_id.get()),
                bearer_tokens::issued_at.eq(to_db(new.issued_at)),
                bearer_tokens::expires_at.eq(to_db(new.expires_at)),
            ))
            .returning(bearer_tokens::id)
            .get_result(self.conn)
            .map_err(failure)?;
        Ok(BearerTokenId::new(id))
    }
}

pub(crate) fn failure(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Failure(Box::new(error))
}

pub(crate) fn to_db(at: OffsetDateTime) -> PrimitiveDateTime {
    let at = at.to_offset(UtcOffset::UTC);
    PrimitiveDateTime::new(at.date(), at.time())
}

pub(crate) fn from_db(at: PrimitiveDateTime) -> OffsetDateTime {
    at.assume_utc()
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = learning_areas, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct LearningAreaRow {
    id: i64,
    name: String,
    created_at: PrimitiveDateTime,
}

impl From<LearningAreaRow> for LearningArea {
    fn from(row: LearningAreaRow) -> Self {
        LearningArea {
            id: LearningAreaId::new(row.id),
            name: Name::from_stored(row.name),
            created_at: from_db(row.created_at),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct AccountRow {
    id: i64,
    email: String,
    display_name: String,
    role: String,
    active: bool,
    password_hash: String,
    created_at: PrimitiveDateTime,
}

impl AccountRow {
    fn into_domain(self) -> Result<(Account, SecretHash), StoreError> {
        let role = Role::parse(&self.role).ok_or_else(|| corrupt("accounts.role"))?;
        let account = Account {
            id: AccountId::new(self.id),
            email: Email::from_stored(self.email),
            display_name: Name::from_stored(self.display_name),
            role,
            active: self.active,
            created_at: from_db(self.created_at),
        };
        Ok((account, SecretHash::from_stored(self.password_hash)))
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = access_tokens, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct AccessTokenRow {
    id: i64,
    learning_area_id: i64,
    name: String,
    client_id: String,
    secret_hash: String,
    created_by: i64,
    created_at: PrimitiveDateTime,
    expires_at: PrimitiveDateTime,
    revoked_at: Option<PrimitiveDateTime>,
    revoked_by: Option<i64>,
    last_used_at: Option<PrimitiveDateTime>,
}

impl AccessTokenRow {
    fn into_domain(self) -> (AccessToken, SecretHash) {
        let token = AccessToken {
            id: AccessTokenId::new(self.id),
            learning_area_id: LearningAreaId::new(self.learning_area_id),
            name: Name::from_stored(self.name),
            client_id: ClientId::from_stored(self.client_id),
            created_by: AccountId::new(self.created_by),
            created_at: from_db(self.created_at),
            expires_at: from_db(self.expires_at),
            revoked_at: self.revoked_at.map(from_db),
            revoked_by: self.revoked_by.map(AccountId::new),
            last_used_at: self.last_used_at.map(from_db),
        };
        (token, SecretHash::from_stored(self.secret_hash))
    }
}

type TokenJoinRow = (AccessTokenRow, LearningAreaRow, AccountRow);

fn record_from(row: TokenJoinRow) -> Result<(AccessTokenRecord, SecretHash), StoreError> {
    let (token, area, creator) = row;
    let (token, secret_hash) = token.into_domain();
    let (creator, _) = creator.into_domain()?;
    Ok((AccessTokenRecord { token, learning_area: area.into(), creator }, secret_hash))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Failure(format!("unexpected stored value in {what}").into())
}

/// access_tokens joined with its learning area and its creator.
macro_rules! tokens_joined {
    () => {
        access_tokens::table
            .inner_join(learning_areas::table)
            .inner_join(accounts::table.on(accounts::id.eq(access_tokens::created_by)))
    };
}

fn insert_audit(conn: &mut DbConnection, mut audit: AuditEvent, new_id: Option<i64>) -> Result<(), StoreError> {
    if let (Some(target), Some(id)) = (audit.target.as_mut(), new_id) {
        target.id.get_or_insert(id);
    }
    let (actor_kind, actor_id) = audit.actor.parts();
    let details: serde_json::Map<String, serde_json::Value> =
        audit.details.into_iter().map(|(k, v)| (k.to_owned(), serde_json::Value::String(v))).collect();
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::occurred_at.eq(to_db(audit.occurred_at)),
            audit_events::actor_kind.eq(actor_kind),
            audit_events::actor_id.eq(actor_id),
            audit_events::action.eq(audit.action.as_str()),
            audit_events::target_kind.eq(audit.target.as_ref().map(|t| t.kind.as_str())),
            audit_events::target_id.eq(audit.target.as_ref().and_then(|t| t.id)),
            audit_events::outcome.eq(audit.outcome.as_str()),
            audit_events::details.eq(serde_json::Value::Object(details).to_string()),
        ))
        .execute(conn)
        .map_err(failure)?;
    Ok(())
}

impl Store for DbStore<'_> {
    fn account(&mut self, id: AccountId) -> Result<Option<Account>, StoreError> {
        let row = accounts::table
            .find(id.get())
            .select(AccountRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(failure)?;
        row.map(|r| r.into_domain().map(|(a, _)| a)).transpose()
    }

    fn account_credentials(&mut self, email: &Email) -> Result<Option<(Account, SecretHash)>, StoreError> {
        let row = accounts::table
            .filter(accounts::email.eq(email.as_str()))
            .select(AccountRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(failure)?;
        row.map(AccountRow::into_domain).transpose()
    }

    fn list_accounts(&mut self) -> Result<Vec<Account>, StoreError> {
        let rows = accounts::table
            .order(accounts::id.asc())
            .select(AccountRow::as_select())
            .load(self.conn)
            .map_err(failure)?;
        rows.into_iter().map(|r| r.into_domain().map(|(a, _)| a)).collect()
    }

    fn count_accounts(&mut self) -> Result<i64, StoreError> {
        accounts::table.count().get_result(self.conn).map_err(failure)
    }

    fn insert_account(&mut self, new: &NewAccount, audit: AuditEvent) -> Result<Account, StoreError> {
        let id: i64 = diesel::insert_into(accounts::table)
            .values((
                accounts::email.eq(new.email.as_str()),
                accounts::display_name.eq(new.display_name.as_str()),
                accounts::role.eq(new.role.as_str()),
                accounts::active.eq(true),
                accounts::password_hash.eq(new.password_hash.as_phc()),
                accounts::created_at.eq(to_db(new.created_at)),
            ))
            .returning(accounts::id)
            .get_result(self.conn)
            .map_err(failure)?;
        insert_audit(self.conn, audit, Some(id))?;
        Ok(Account {
            id: AccountId::new(id),
            email: new.email.clone(),
            display_name: new.display_name.clone(),
            role: new.role,
            active: true,
            created_at: new.created_at,
        })
    }

    fn update_account(&mut self, account: &Account, audit: AuditEvent) -> Result<(), StoreError> {
        diesel::update(accounts::table.find(account.id.get()))
            .set((
                accounts::role.eq(account.role.as_str()),
                accounts::active.eq(account.active),
                accounts::display_name.eq(account.display_name.as_str()),
            ))
            .execute(self.conn)
            .map_err(failure)?;
        insert_audit(self.conn, audit, None)
    }

    fn learning_area(&mut self, id: LearningAreaId) -> Result<Option<LearningArea>, StoreError> {
        let row = learning_areas::table
            .find(id.get())
            .select(LearningAreaRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(failure)?;
        Ok(row.map(Into::into))
    }

    fn list_learning_areas(&mut self) -> Result<Vec<LearningArea>, StoreError> {
        let rows = learning_areas::table
            .order(learning_areas::id.asc())
            .select(LearningAreaRow::as_select())
            .load(self.conn)
            .map_err(failure)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    fn count_learning_areas(&mut self) -> Result<i64, StoreError> {
        learning_areas::table.count().get_result(self.conn).map_err(failure)
    }

    fn insert_learning_area(
        &mut self,
        name: &Name,
        created_at: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<LearningArea, StoreError> {
        let id: i64 = diesel::insert_into(learning_areas::table)
            .values((learning_areas::name.eq(name.as_str()), learning_areas::created_at.eq(to_db(created_at))))
            .returning(learning_areas::id)
            .get_result(self.conn)
            .map_err(failure)?;
        insert_audit(self.conn, audit, Some(id))?;
        Ok(LearningArea { id: LearningAreaId::new(id), name: name.clone(), created_at })
    }

    fn rename_learning_area(&mut self, id: LearningAreaId, name: &Name, audit: AuditEvent) -> Result<(), StoreError> {
        diesel::update(learning_areas::table.find(id.get()))
            .set(learning_areas::name.eq(name.as_str()))
            .execute(self.conn)
            .map_err(failure)?;
        insert_audit(self.conn, audit, None)
    }

    fn access_token(&mut self, id: AccessTokenId) -> Result<Option<AccessTokenRecord>, StoreError> {
        let row: Option<TokenJoinRow> = tokens_joined!()
            .filter(access_tokens::id.eq(id.get()))
            .select((AccessTokenRow::as_select(), LearningAreaRow::as_select(), AccountRow::as_select()))
            .first(self.conn)
            .optional()
            .map_err(failure)?;
        row.map(|r| record_from(r).map(|(record, _)| record)).transpose()
    }

    fn list_access_tokens(
        &mut self,
        query: &AccessTokenQuery,
        now: OffsetDateTime,
    ) -> Result<Vec<AccessTokenRecord>, StoreError> {
        let now = to_db(now);
        let mut sql = tokens_joined!()
            .select((AccessTokenRow::as_select(), LearningAreaRow::as_select(), AccountRow::as_select()))
            .order(access_tokens::id.desc())
            .limit(i64::from(query.limit))
            .into_boxed();
        if let Some(before) = query.before {
            sql = sql.filter(access_tokens::id.lt(before.get()));
        }
        if let Some(area) = query.learning_area_id {
            sql = sql.filter(access_tokens::learning_area_id.eq(area.get()));
        }
        if let Some(before) = query.expiring_before {
            sql = sql.filter(access_tokens::expires_at.gt(now)).filter(access_tokens::expires_at.le(to_db(before)));
        }
        if let Some(needle) = &query.name_contains {
            let escaped = needle.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            sql = sql.filter(lower(access_tokens::name).like(format!("%{escaped}%")).escape('\\'));
        }
        // Mirrors AccessToken::status; the store tests check both agree.
        let creator_grants = accounts::active.eq(true).and(accounts::role.eq("administrator"));
        sql = match query.status {
            None => sql,
            Some(StatusFilter::Revoked) => sql.filter(access_tokens::revoked_at.is_not_null()),
            Some(StatusFilter::Expired) => {
                sql.filter(access_tokens::revoked_at.is_null()).filter(access_tokens::expires_at.le(now))
            }
            Some(StatusFilter::Active) => sql
                .filter(access_tokens::revoked_at.is_null())
                .filter(access_tokens::expires_at.gt(now))
                .filter(creator_grants),
            Some(StatusFilter::Suspended) => sql
                .filter(access_tokens::revoked_at.is_null())
                .filter(access_tokens::expires_at.gt(now))
                .filter(creator_grants.eq(false)),
        };
        let rows: Vec<TokenJoinRow> = sql.load(self.conn).map_err(failure)?;
        rows.into_iter().map(|r| record_from(r).map(|(record, _)| record)).collect()
    }

    fn insert_access_token(&mut self, new: &NewAccessToken, audit: AuditEvent) -> Result<AccessToken, StoreError> {
        let id: i64 = diesel::insert_into(access_tokens::table)
            .values((
                access_tokens::learning_area_id.eq(new.learning_area_id.get()),
                access_tokens::name.eq(new.name.as_str()),
                access_tokens::client_id.eq(new.client_id.as_str()),
                access_tokens::secret_hash.eq(new.secret_hash.as_phc()),
                access_tokens::created_by.eq(new.created_by.get()),
                access_tokens::created_at.eq(to_db(new.created_at)),
                access_tokens::expires_at.eq(to_db(new.expires_at)),
            ))
            .returning(access_tokens::id)
            .get_result(self.conn)
            .map_err(failure)?;
        insert_audit(self.conn, audit, Some(id))?;
        Ok(AccessToken {
            id: AccessTokenId::new(id),
            learning_area_id: new.learning_area_id,
            name: new.name.clone(),
            client_id: new.client_id.clone(),
            created_by: new.created_by,
            created_at: new.created_at,
            expires_at: new.expires_at,
            revoked_at: None,
            revoked_by: None,
            last_used_at: None,
        })
    }

    fn update_access_token(&mut self, token: &AccessToken, audit: AuditEvent) -> Result<(), StoreError> {
        diesel::update(access_tokens::table.find(token.id.get()))
            .set((access_tokens::name.eq(token.name.as_str()), access_tokens::expires_at.eq(to_db(token.expires_at))))
            .execute(self.conn)
            .map_err(failure)?;
        if let Some(revoked_at) = token.revoked_at {
            // The first revocation sticks, even against a concurrent one.
            diesel::update(access_tokens::table.find(token.id.get()).filter(access_tokens::revoked_at.is_null()))
                .set((
                    access_tokens::revoked_at.eq(to_db(revoked_at)),
                    access_tokens::revoked_by.eq(token.revoked_by.map(AccountId::get)),
                ))
                .execute(self.conn)
                .map_err(failure)?;
        }
        insert_audit(self.conn, audit, None)
    }

    fn record_audit(&mut self, audit: AuditEvent) -> Result<(), StoreError> {
        insert_audit(self.conn, audit, None)
    }

    fn list_audit_events(&mut self, query: &AuditQuery) -> Result<Vec<StoredAuditEvent>, StoreError> {
        let mut sql = audit_events::table
            .select(AuditRow::as_select())
            .order(audit_events::id.desc())
            .limit(i64::from(query.limit))
            .into_boxed();
        if let Some(before) = query.before {
            sql = sql.filter(audit_events::id.lt(before.get()));
        }
        if let Some(kind) = &query.actor_kind {
            sql = sql.filter(audit_events::actor_kind.eq(kind.clone()));
        }
        if let Some(id) = &query.actor_id {
            sql = sql.filter(audit_events::actor_id.eq(id.clone()));
        }
        if let Some(kind) = &query.target_kind {
            sql = sql.filter(audit_events::target_kind.eq(kind.clone()));
        }
        if let Some(id) = query.target_id {
            sql = sql.filter(audit_events::target_id.eq(id));
        }
        if let Some(action) = query.action {
            sql = sql.filter(audit_events::action.eq(action.as_str()));
        }
        if let Some(from) = query.from {
            sql = sql.filter(audit_events::occurred_at.ge(to_db(from)));
        }
        if let Some(to) = query.to {
            sql = sql.filter(audit_events::occurred_at.lt(to_db(to)));
        }
        let rows: Vec<AuditRow> = sql.load(self.conn).map_err(failure)?;
        Ok(rows
            .into_iter()
            .map(|r| StoredAuditEvent {
                id: token_core::ids::AuditEventId::new(r.id),
                occurred_at: from_db(r.occurred_at),
                actor_kind: r.actor_kind,
                actor_id: r.actor_id,
                action: r.action,
                target_kind: r.target_kind,
                target_id: r.target_id,
                outcome: r.outcome,
                details_json: r.details,
            })
            .collect())
    }

    fn insert_session(&mut self, new: &NewSession, audit: AuditEvent) -> Result<(), StoreError> {
        diesel::insert_into(sessions::table)
            .values((
                sessions::token_hash.eq(new.token_hash.as_slice()),
                sessions::account_id.eq(new.account_id.get()),
                sessions::created_at.eq(to_db(new.created_at)),
                sessions::expires_at.eq(to_db(new.expires_at)),
            ))
            .execute(self.conn)
            .map_err(failure)?;
        insert_audit(self.conn, audit, None)
    }

    fn session(&mut self, token_hash: &[u8; 32]) -> Result<Option<SessionRecord>, StoreError> {
        type Row = ((PrimitiveDateTime, PrimitiveDateTime, Option<PrimitiveDateTime>), AccountRow);
        let row: Option<Row> = sessions::table
            .inner_join(accounts::table)
            .filter(sessions::token_hash.eq(token_hash.as_slice()))
            .select(((sessions::created_at, sessions::expires_at, sessions::ended_at), AccountRow::as_select()))
            .first(self.conn)
            .optional()
            .map_err(failure)?;
        let Some(((created_at, expires_at, ended_at), account)) = row else { return Ok(None) };
        let (account, _) = account.into_domain()?;
        Ok(Some(SessionRecord {
            account,
            created_at: from_db(created_at),
            expires_at: from_db(expires_at),
            ended_at: ended_at.map(from_db),
        }))
    }

    fn purge_sessions(&mut self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let now = to_db(now);
        let deleted =
            diesel::delete(sessions::table.filter(sessions::expires_at.le(now).or(sessions::ended_at.is_not_null())))
                .execute(self.conn)
                .map_err(failure)?;
        Ok(deleted as u64)
    }

    fn end_session(&mut self, token_hash: &[u8; 32], at: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError> {
        diesel::update(
            sessions::table.filter(sessions::token_hash.eq(token_hash.as_slice())).filter(sessions::ended_at.is_null()),
        )
        .set(sessions::ended_at.eq(to_db(at)))
        .execute(self.conn)
        .map_err(failure)?;
        insert_audit(self.conn, audit, None)
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct AuditRow {
    id: i64,
    occurred_at: PrimitiveDateTime,
    actor_kind: String,
    actor_id: Option<String>,
    action: String,
    target_kind: Option<String>,
    target_id: Option<i64>,
    outcome: String,
    details: String,
}

impl OAuthStore for DbStore<'_> {
    fn client(&mut self, client_id: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
        let row: Option<TokenJoinRow> = tokens_joined!()
            .filter(access_tokens::client_id.eq(client_id.as_str()))
            .select((AccessTokenRow::as_select(), LearningAreaRow::as_select(), AccountRow::as_select()))
            .first(self.conn)
            .optional()
            .map_err(failure)?;
        let Some(row) = row else { return Ok(None) };
        let (record, secret_hash) = record_from(row)?;
        Ok(Some(ClientRecord { token: record.token, secret_hash, creator: record.creator }))
    }

    fn insert_bearer_token(&mut self, new: &NewBearerToken) -> Result<BearerTokenId, StoreError> {
        // A bearer token lost to a power cut costs the client one more token request, so on
        // SQLite this one write skips the fsync that `synchronous=FULL` gives every other
        // commit (revocations above all). The next FULL commit makes it durable anyway.
        let relaxed = matches!(self.conn, DbConnection::Sqlite(_));
        if relaxed {
            diesel::connection::SimpleConnection::batch_execute(self.conn, "PRAGMA synchronous = NORMAL")
                .map_err(failure)?;
        }
        let inserted = self.insert_bearer_row(new);
        if relaxed {
            diesel::connection::SimpleConnection::batch_execute(self.conn, "PRAGMA synchronous = FULL")
                .map_err(failure)?;
        }
        inserted
    }

    fn bearer_token(&mut self, token_hash: &[u8; 32]) -> Result<Option<BearerRecord>, StoreError> {
        type Row = ((i64, PrimitiveDateTime, PrimitiveDateTime, Option<PrimitiveDateTime>), TokenJoinRow);
        let row: Option<Row> = bearer_tokens::table
            .inner_join(tokens_joined!())
            .filter(bearer_tokens::token_hash.eq(token_hash.as_slice()))
            .select((
                (bearer_tokens::id, bearer_tokens::issued_at, bearer_tokens::expires_at, bearer_tokens::revoked_at),
                (AccessTokenRow::as_select(), LearningAreaRow::as_select(), AccountRow::as_select()),
            ))
            .first(self.conn)
            .optional()
            .map_err(failure)?;
        let Some(((id, issued_at, expires_at, revoked_at), joined)) = row else { return Ok(None) };
        let (access_token, _) = record_from(joined)?;
        Ok(Some(BearerRecord {
            id: BearerTokenId::new(id),
            issued_at: from_db(issued_at),
            expires_at: from_db(expires_at),
            revoked_at: revoked_at.map(from_db),
            access_token,
        }))
    }

    fn revoke_bearer_token(
        &mut self,
        id: BearerTokenId,
        at: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<(), StoreError> {
        diesel::update(bearer_tokens::table.find(id.get()).filter(bearer_tokens::revoked_at.is_null()))
            .set(bearer_tokens::revoked_at.eq(to_db(at)))
            .execute(self.conn)
            .map_err(failure)?;
        insert_audit(self.conn, audit, None)
    }

    fn touch_access_tokens(
        &mut self,
        last_used: &[(AccessTokenId, OffsetDateTime)],
        step: time::Duration,
    ) -> Result<(), StoreError> {
        // Times are whole seconds and a flush covers a few seconds, so grouping by time turns
        // thousands of single-row updates (each its own commit and fsync) into a handful.
        let mut by_time: BTreeMap<PrimitiveDateTime, Vec<i64>> = BTreeMap::new();
        for (id, at) in last_used {
            by_time.entry(to_db(*at)).or_default().push(id.get());
        }
        for (at, ids) in by_time {
            let older_than = to_db(from_db(at) - step);
            for chunk in ids.chunks(TOUCH_CHUNK) {
                // Padded (with a repeated id) to one of three lengths: SQLite spells `IN` with
                // one parameter per id, and each length would be another cached statement.
                let size = [1, 16, TOUCH_CHUNK].into_iter().find(|&n| n >= chunk.len()).unwrap_or(TOUCH_CHUNK);
                let mut padded = chunk.to_vec();
                if let Some(&first) = chunk.first() {
                    padded.resize(size, first);
                }
                diesel::update(
                    access_tokens::table
                        .filter(access_tokens::id.eq_any(padded))
                        .filter(access_tokens::last_used_at.is_null().or(access_tokens::last_used_at.lt(older_than))),
                )
                .set(access_tokens::last_used_at.eq(at))
                .execute(self.conn)
                .map_err(failure)?;
            }
        }
        Ok(())
    }

    fn purge_bearer_tokens(&mut self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let now = to_db(now);
        let dead_access_tokens = access_tokens::table
            .filter(access_tokens::revoked_at.is_not_null().or(access_tokens::expires_at.le(now)))
            .select(access_tokens::id);
        let deleted = diesel::delete(
            bearer_tokens::table.filter(
                bearer_tokens::expires_at
                    .le(now)
                    .or(bearer_tokens::revoked_at.is_not_null())
                    .or(bearer_tokens::access_token_id.eq_any(dead_access_tokens)),
            ),
        )
        .execute(self.conn)
        .map_err(failure)?;
        Ok(deleted as u64)
    }

    fn record_oauth_audit(&mut self, audit: AuditEvent) -> Result<(), StoreError> {
        insert_audit(self.conn, audit, None)
    }

    fn credential_epoch(&mut self) -> Result<i64, StoreError> {
        // Moved by the triggers of migration 0005, not by this crate's code.
        credential_epoch::table.find(1_i64).select(credential_epoch::epoch).first(self.conn).map_err(failure)
    }
}
