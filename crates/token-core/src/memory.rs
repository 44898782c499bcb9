//! An in-memory [`Store`]: for examples, for the domain's own tests, and for embedding teams
//! that want to try the services before wiring a database. Not durable, not shared between
//! processes, and not transactional (a failed service call may leave its audit record).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::audit::AuditEvent;
use crate::error::StoreError;
use crate::ids::{AccessTokenId, AccountId, LearningAreaId};
use crate::model::{AccessToken, Account, Email, LearningArea, Name, StatusFilter};
use crate::secret::SecretHash;
use crate::store::{
    AccessTokenQuery, AccessTokenRecord, AuditQuery, NewAccessToken, NewAccount, NewSession, SessionRecord, Store,
    StoredAuditEvent,
};

/// Everything kept in maps; ids count up from 1.
#[derive(Debug, Default)]
pub struct MemoryStore {
    accounts: BTreeMap<AccountId, (Account, SecretHash)>,
    areas: BTreeMap<LearningAreaId, LearningArea>,
    tokens: BTreeMap<AccessTokenId, (AccessToken, SecretHash)>,
    /// The audit events written, oldest first.
    pub audit: Vec<AuditEvent>,
    sessions: BTreeMap<[u8; 32], (NewSession, Option<OffsetDateTime>)>,
    next_id: i64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn next(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn record(&self, id: AccessTokenId) -> Option<AccessTokenRecord> {
        let (token, _) = self.tokens.get(&id)?;
        Some(AccessTokenRecord {
            token: token.clone(),
            learning_area: self.areas.get(&token.learning_area_id)?.clone(),
            creator: self.accounts.get(&token.created_by)?.0.clone(),
        })
    }

    fn push(&mut self, mut audit: AuditEvent, id: i64) {
        if let Some(target) = audit.target.as_mut() {
            target.id.get_or_insert(id);
        }
        self.audit.push(audit);
    }
}

/// The details as a JSON object of strings, as the database store keeps them.
fn details_json(details: &[(&'static str, String)]) -> String {
    fn quoted(text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 2);
        out.push('"');
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
    let fields: Vec<String> = details.iter().map(|(k, v)| format!("{}:{}", quoted(k), quoted(v))).collect();
    format!("{{{}}}", fields.join(","))
}

impl Store for MemoryStore {
    fn account(&mut self, id: AccountId) -> Result<Option<Account>, StoreError> {
        Ok(self.accounts.get(&id).map(|(a, _)| a.clone()))
    }

    fn account_credentials(&mut self, email: &Email) -> Result<Option<(Account, SecretHash)>, StoreError> {
        Ok(self.accounts.values().find(|(a, _)| &a.email == email).cloned())
    }

    fn list_accounts(&mut self) -> Result<Vec<Account>, StoreError> {
        Ok(self.accounts.values().map(|(a, _)| a.clone()).collect())
    }

    fn count_accounts(&mut self) -> Result<i64, StoreError> {
        Ok(self.accounts.len() as i64)
    }

    fn insert_account(&mut self, new: &NewAccount, audit: AuditEvent) -> Result<Account, StoreError> {
        let id = AccountId::new(self.next());
        let account = Account {
            id,
            email: new.email.clone(),
            display_name: new.display_name.clone(),
            role: new.role,
            active: true,
            created_at: new.created_at,
        };
        self.accounts.insert(id, (account.clone(), new.password_hash.clone()));
        self.push(audit, id.get());
        Ok(account)
    }

    fn update_account(&mut self, account: &Account, audit: AuditEvent) -> Result<(), StoreError> {
        if let Some((stored, _)) = self.accounts.get_mut(&account.id) {
            stored.role = account.role;
            stored.active = account.active;
            stored.display_name = account.display_name.clone();
        }
        self.push(audit, account.id.get());
        Ok(())
    }

    fn learning_area(&mut self, id: LearningAreaId) -> Result<Option<LearningArea>, StoreError> {
        Ok(self.areas.get(&id).cloned())
    }

    fn list_learning_areas(&mut self) -> Result<Vec<LearningArea>, StoreError> {
        Ok(self.areas.values().cloned().collect())
    }

    fn count_learning_areas(&mut self) -> Result<i64, StoreError> {
        Ok(self.areas.len() as i64)
    }

    fn insert_learning_area(
        &mut self,
        name: &Name,
        created_at: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<LearningArea, StoreError> {
        let id = LearningAreaId::new(self.next());
        let area = LearningArea { id, name: name.clone(), created_at };
        self.areas.insert(id, area.clone());
        self.push(audit, id.get());
        Ok(area)
    }

    fn rename_learning_area(&mut self, id: LearningAreaId, name: &Name, audit: AuditEvent) -> Result<(), StoreError> {
        if let Some(area) = self.areas.get_mut(&id) {
            area.name = name.clone();
        }
        self.push(audit, id.get());
        Ok(())
    }

    fn access_token(&mut self, id: AccessTokenId) -> Result<Option<AccessTokenRecord>, StoreError> {
        Ok(self.record(id))
    }

    fn list_access_tokens(
        &mut self,
        query: &AccessTokenQuery,
        now: OffsetDateTime,
    ) -> Result<Vec<AccessTokenRecord>, StoreError> {
        let needle = query.name_contains.as_ref().map(|q| q.to_ascii_lowercase());
        Ok(self
            .tokens
            .keys()
            .rev()
            .filter(|id| query.before.is_none_or(|before| **id < before))
            .filter_map(|id| self.record(*id))
            .filter(|r| query.learning_area_id.is_none_or(|area| r.token.learning_area_id == area))
            .filter(|r| query.expiring_before.is_none_or(|at| r.token.expires_at > now && r.token.expires_at <= at))
            .filter(|r| needle.as_ref().is_none_or(|n| r.token.name.as_str().to_ascii_lowercase().contains(n.as_str())))
            .filter(|r| query.status.is_none_or(|s: StatusFilter| s.matches(r.token.status(now, &r.creator))))
            .take(query.limit as usize)
            .collect())
    }

    fn insert_access_token(&mut self, new: &NewAccessToken, audit: AuditEvent) -> Result<AccessToken, StoreError> {
        let id = AccessTokenId::new(self.next());
        let token = AccessToken {
            id,
            learning_area_id: new.learning_area_id,
            name: new.name.clone(),
            client_id: new.client_id.clone(),
            created_by: new.created_by,
            created_at: new.created_at,
            expires_at: new.expires_at,
            revoked_at: None,
            revoked_by: None,
            last_used_at: None,
        };
        self.tokens.insert(id, (token.clone(), new.secret_hash.clone()));
        self.push(audit, id.get());
        Ok(token)
    }

    fn update_access_token(&mut self, token: &AccessToken, audit: AuditEvent) -> Result<(), StoreError> {
        if let Some((stored, _)) = self.tokens.get_mut(&token.id) {
            stored.name = token.name.clone();
            stored.expires_at = token.expires_at;
            stored.revoked_at = token.revoked_at;
            stored.revoked_by = token.revoked_by;
        }
        self.push(audit, token.id.get());
        Ok(())
    }

    fn record_audit(&mut self, audit: AuditEvent) -> Result<(), StoreError> {
        self.audit.push(audit);
        Ok(())
    }

    fn list_audit_events(&mut self, query: &AuditQuery) -> Result<Vec<StoredAuditEvent>, StoreError> {
        let events = self.audit.iter().enumerate().rev().map(|(i, e)| {
            let (actor_kind, actor_id) = e.actor.parts();
            StoredAuditEvent {
                id: crate::ids::AuditEventId::new(i as i64 + 1),
                occurred_at: e.occurred_at,
                actor_kind: actor_kind.to_owned(),
                actor_id,
                action: e.action.as_str().to_owned(),
                target_kind: e.target.as_ref().map(|t| t.kind.as_str().to_owned()),
                target_id: e.target.as_ref().and_then(|t| t.id),
                outcome: e.outcome.as_str().to_owned(),
                details_json: details_json(&e.details),
            }
        });
        Ok(events
            .filter(|e| query.before.is_none_or(|b| e.id < b))
            .filter(|e| query.actor_kind.as_ref().is_none_or(|k| &e.actor_kind == k))
            .filter(|e| query.actor_id.is_none() || e.actor_id == query.actor_id)
            .filter(|e| query.target_kind.is_none() || e.target_kind == query.target_kind)
            .filter(|e| query.target_id.is_none() || e.target_id == query.target_id)
            .filter(|e| query.action.is_none_or(|a| e.action == a.as_str()))
            .filter(|e| query.from.is_none_or(|f| e.occurred_at >= f))
            .filter(|e| query.to.is_none_or(|t| e.occurred_at < t))
            .take(query.limit as usize)
            .collect())
    }

    fn insert_session(&mut self, new: &NewSession, audit: AuditEvent) -> Result<(), StoreError> {
        self.sessions.insert(new.token_hash, (new.clone(), None));
        self.audit.push(audit);
        Ok(())
    }

    fn session(&mut self, token_hash: &[u8; 32]) -> Result<Option<SessionRecord>, StoreError> {
        let Some((session, ended_at)) = self.sessions.get(token_hash) else { return Ok(None) };
        let Some((account, _)) = self.accounts.get(&session.account_id) else { return Ok(None) };
        Ok(Some(SessionRecord {
            account: account.clone(),
            created_at: session.created_at,
            expires_at: session.expires_at,
            ended_at: *ended_at,
        }))
    }

    fn end_session(&mut self, token_hash: &[u8; 32], at: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError> {
        if let Some((_, ended_at)) = self.sessions.get_mut(token_hash) {
            ended_at.get_or_insert(at);
        }
        self.audit.push(audit);
        Ok(())
    }

    fn purge_sessions(&mut self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let before = self.sessions.len();
        self.sessions.retain(|_, (session, ended_at)| ended_at.is_none() && now < session.expires_at);
        Ok((before - self.sessions.len()) as u64)
    }
}
