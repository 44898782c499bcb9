//! `LearningStore` over diesel. Every query filters on the scope's learning area first; there
//! is no function here that reads a learning area's data without an `AreaScope`.

use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};
use token_core::StoreError;
use token_core::learning::{
    AreaScope, Attendance, Level, LevelId, LiveSession, LiveSessionId, Registration, RegistrationId,
    RegistrationStatus, Training, TrainingId, User, UserId,
};
use token_core::model::{Email, Name};
use token_core::store::{LearningStore, LiveSessionQuery, RegistrationQuery};

use crate::db_store::{DbStore, failure, from_db, to_db};
use crate::schema::{attendances, levels, live_sessions, registrations, trainings, users};

#[derive(Queryable, Selectable)]
#[diesel(table_name = levels, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct LevelRow {
    id: i64,
    parent_id: Option<i64>,
    name: String,
    created_at: PrimitiveDateTime,
}

impl From<LevelRow> for Level {
    fn from(r: LevelRow) -> Self {
        Level {
            id: LevelId::new(r.id),
            parent_id: r.parent_id.map(LevelId::new),
            name: Name::from_stored(r.name),
            created_at: from_db(r.created_at),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct UserRow {
    id: i64,
    name: String,
    email: String,
    level_id: Option<i64>,
    created_at: PrimitiveDateTime,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId::new(r.id),
            name: Name::from_stored(r.name),
            email: Email::from_stored(r.email),
            level_id: r.level_id.map(LevelId::new),
            created_at: from_db(r.created_at),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = trainings, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct TrainingRow {
    id: i64,
    title: String,
    description: String,
    level_id: Option<i64>,
    created_at: PrimitiveDateTime,
}

impl From<TrainingRow> for Training {
    fn from(r: TrainingRow) -> Self {
        Training {
            id: TrainingId::new(r.id),
            title: Name::from_stored(r.title),
            description: r.description,
            level_id: r.level_id.map(LevelId::new),
            created_at: from_db(r.created_at),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = registrations, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct RegistrationRow {
    id: i64,
    user_id: i64,
    training_id: i64,
    registered_at: PrimitiveDateTime,
    status: String,
    progress: i32,
    score: Option<i32>,
    completed_at: Option<PrimitiveDateTime>,
}

fn percent(value: i32) -> u8 {
    value.clamp(0, 100) as u8
}

impl TryFrom<RegistrationRow> for Registration {
    type Error = StoreError;
    fn try_from(r: RegistrationRow) -> Result<Self, StoreError> {
        Ok(Registration {
            id: RegistrationId::new(r.id),
            user_id: UserId::new(r.user_id),
            training_id: TrainingId::new(r.training_id),
            registered_at: from_db(r.registered_at),
            status: RegistrationStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Failure("unexpected registrations.status".into()))?,
            progress: percent(r.progress),
            score: r.score.map(percent),
            completed_at: r.completed_at.map(from_db),
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = live_sessions, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct LiveSessionRow {
    id: i64,
    training_id: i64,
    title: String,
    starts_at: PrimitiveDateTime,
    ends_at: PrimitiveDateTime,
}

impl From<LiveSessionRow> for LiveSession {
    fn from(r: LiveSessionRow) -> Self {
        LiveSession {
            id: LiveSessionId::new(r.id),
            training_id: TrainingId::new(r.training_id),
            title: Name::from_stored(r.title),
            starts_at: from_db(r.starts_at),
            ends_at: from_db(r.ends_at),
            attendees: Vec::new(),
        }
    }
}

fn area(scope: AreaScope) -> i64 {
    scope.area().get()
}

fn registrations_of(rows: Vec<RegistrationRow>) -> Result<Vec<Registration>, StoreError> {
    rows.into_iter().map(Registration::try_from).collect()
}

impl LearningStore for DbStore<'_> {
    fn levels(&mut self, scope: AreaScope) -> Result<Vec<Level>, StoreError> {
        let rows = levels::table
            .filter(levels::learning_area_id.eq(area(scope)))
            .order(levels::id.asc())
            .select(LevelRow::as_select())
            .load(self.connection())
            .map_err(failure)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    fn level(&mut self, scope: AreaScope, id: LevelId) -> Result<Option<Level>, StoreError> {
        let row = levels::table
            .filter(levels::learning_area_id.eq(area(scope)))
            .filter(levels::id.eq(id.get()))
            .select(LevelRow::as_select())
            .first(self.connection())
            .optional()
            .map_err(failure)?;
        Ok(row.map(Into::into))
    }

    fn insert_level(
        &mut self,
        scope: AreaScope,
        parent_id: Option<LevelId>,
        name: &Name,
        at: OffsetDateTime,
    ) -> Result<Level, StoreError> {
        let id: i64 = diesel::insert_into(levels::table)
            .values((
                levels::learning_area_id.eq(area(scope)),
                levels::parent_id.eq(parent_id.map(LevelId::get)),
                levels::name.eq(name.as_str()),
                levels::created_at.eq(to_db(at)),
            ))
            .returning(levels::id)
            .get_result(self.connection())
            .map_err(failure)?;
        Ok(Level { id: LevelId::new(id), parent_id, name: name.clone(), created_at: at })
    }

    fn users(&mut self, scope: AreaScope, before: Option<i64>, limit: u32) -> Result<Vec<User>, StoreError> {
        let mut sql = users::table
            .filter(users::learning_area_id.eq(area(scope)))
            .order(users::id.desc())
            .limit(i64::from(limit))
            .select(UserRow::as_select())
            .into_boxed();
        if let Some(before) = before {
            sql = sql.filter(users::id.lt(before));
        }
        let rows = sql.load(self.connection()).map_err(failure)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    fn user(&mut self, scope: AreaScope, id: UserId) -> Result<Option<User>, StoreError> {
        let row = users::table
            .filter(users::learning_area_id.eq(area(scope)))
            .filter(users::id.eq(id.get()))
            .select(UserRow::as_select())
            .first(self.connection())
            .optional()
            .map_err(failure)?;
        Ok(row.map(Into::into))
    }

    fn user_by_email(&mut self, scope: AreaScope, email: &Email) -> Result<Option<User>, StoreError> {
        let row = users::table
            .filter(users::learning_area_id.eq(area(scope)))
            .filter(users::email.eq(email.as_str()))
            .select(UserRow::as_select())
            .first(self.connection())
            .optional()
            .map_err(failure)?;
        Ok(row.map(Into::into))
    }

    fn insert_user(
        &mut self,
        scope: AreaScope,
        name: &Name,
        email: &Email,
        level_id: Option<LevelId>,
        at: OffsetDateTime,
    ) -> Result<User, StoreError> {
        let id: i64 = diesel::insert_into(users::table)
            .values((
                users::learning_area_id.eq(area(scope)),
                users::name.eq(name.as_str()),
                users::email.eq(email.as_str()),
                users::level_id.eq(level_id.map(LevelId::get)),
                users::created_at.eq(to_db(at)),
            ))
            .returning(users::id)
            .get_result(self.connection())
            .map_err(failure)?;
        Ok(User { id: UserId::new(id), name: name.clone(), email: email.clone(), level_id, created_at: at })
    }

    fn trainings(&mut self, scope: AreaScope, before: Option<i64>, limit: u32) -> Result<Vec<Training>, StoreError> {
        let mut sql = trainings::table
            .filter(trainings::learning_area_id.eq(area(scope)))
            .order(trainings::id.desc())
            .limit(i64::from(limit))
            .select(TrainingRow::as_select())
            .into_boxed();
        if let Some(before) = before {
            sql = sql.filter(trainings::id.lt(before));
        }
        let rows = sql.load(self.connection()).map_err(failure)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    fn training(&mut self, scope: AreaScope, id: TrainingId) -> Result<Option<Training>, StoreError> {
        let row = trainings::table
            .filter(trainings::learning_area_id.eq(area(scope)))
            .filter(trainings::id.eq(id.get()))
            .select(TrainingRow::as_select())
            .first(self.connection())
            .optional()
            .map_err(failure)?;
        Ok(row.map(Into::into))
    }

    fn insert_training(
        &mut self,
        scope: AreaScope,
        title: &Name,
        description: &str,
        level_id: Option<LevelId>,
        at: OffsetDateTime,
    ) -> Result<Training, StoreError> {
        let id: i64 = diesel::insert_into(trainings::table)
            .values((
                trainings::learning_area_id.eq(area(scope)),
                trainings::title.eq(title.as_str()),
                trainings::description.eq(description),
                trainings::level_id.eq(level_id.map(LevelId::get)),
                trainings::created_at.eq(to_db(at)),
            ))
            .returning(trainings::id)
            .get_result(self.connection())
            .map_err(failure)?;
        Ok(Training {
            id: TrainingId::new(id),
            title: title.clone(),
            description: description.to_owned(),
            level_id,
            created_at: at,
        })
    }

    fn training_results(
        &mut self,
        scope: AreaScope,
        id: TrainingId,
    ) -> Result<Vec<(RegistrationStatus, Option<u8>)>, StoreError> {
        let rows: Vec<(String, Option<i32>)> = registrations::table
            .filter(registrations::learning_area_id.eq(area(scope)))
            .filter(registrations::training_id.eq(id.get()))
            .select((registrations::status, registrations::score))
            .load(self.connection())
            .map_err(failure)?;
        rows.into_iter()
            .map(|(status, score)| {
                let status = RegistrationStatus::parse(&status)
                    .ok_or_else(|| StoreError::Failure("unexpected registrations.status".into()))?;
                Ok((status, score.map(percent)))
            })
            .collect()
    }

    fn registrations(&mut self, scope: AreaScope, query: &RegistrationQuery) -> Result<Vec<Registration>, StoreError> {
        let mut sql = registrations::table
            .filter(registrations::learning_area_id.eq(area(scope)))
            .order(registrations::id.desc())
            .limit(i64::from(query.limit))
            .select(RegistrationRow::as_select())
            .into_boxed();
        if let Some(before) = query.before {
            sql = sql.filter(registrations::id.lt(before));
        }
        if let Some(training) = query.training_id {
            sql = sql.filter(registrations::training_id.eq(training.get()));
        }
        if let Some(user) = query.user_id {
            sql = sql.filter(registrations::user_id.eq(user.get()));
        }
        if let Some(status) = query.status {
            sql = sql.filter(registrations::status.eq(status.as_str()));
        }
        if let Some(since) = query.since {
            sql = sql.filter(registrations::registered_at.ge(to_db(since)));
        }
        registrations_of(sql.load(self.connection()).map_err(failure)?)
    }

    fn registration(&mut self, scope: AreaScope, id: RegistrationId) -> Result<Option<Registration>, StoreError> {
        let row = registrations::table
            .filter(registrations::learning_area_id.eq(area(scope)))
            .filter(registrations::id.eq(id.get()))
            .select(RegistrationRow::as_select())
            .first(self.connection())
            .optional()
            .map_err(failure)?;
        row.map(Registration::try_from).transpose()
    }

    fn registration_of(
        &mut self,
        scope: AreaScope,
        user_id: UserId,
        training_id: TrainingId,
    ) -> Result<Option<Registration>, StoreError> {
        let row = registrations::table
            .filter(registrations::learning_area_id.eq(area(scope)))
            .filter(registrations::user_id.eq(user_id.get()))
            .filter(registrations::training_id.eq(training_id.get()))
            .select(RegistrationRow::as_select())
            .first(self.connection())
            .optional()
            .map_err(failure)?;
        row.map(Registration::try_from).transpose()
    }

    fn insert_registration(
        &mut self,
        scope: AreaScope,
        user_id: UserId,
        training_id: TrainingId,
        at: OffsetDateTime,
    ) -> Result<Registration, StoreError> {
        let id: i64 = diesel::insert_into(registrations::table)
            .values((
                registrations::learning_area_id.eq(area(scope)),
                registrations::user_id.eq(user_id.get()),
                registrations::training_id.eq(training_id.get()),
                registrations::registered_at.eq(to_db(at)),
                registrations::status.eq(RegistrationStatus::NotStarted.as_str()),
                registrations::progress.eq(0),
            ))
            .returning(registrations::id)
            .get_result(self.connection())
            .map_err(failure)?;
        Ok(Registration {
            id: RegistrationId::new(id),
            user_id,
            training_id,
            registered_at: at,
            status: RegistrationStatus::NotStarted,
            progress: 0,
            score: None,
            completed_at: None,
        })
    }

    fn update_registration(&mut self, scope: AreaScope, r: &Registration) -> Result<(), StoreError> {
        diesel::update(
            registrations::table
                .filter(registrations::learning_area_id.eq(area(scope)))
                .filter(registrations::id.eq(r.id.get())),
        )
        .set((
            registrations::status.eq(r.status.as_str()),
            registrations::progress.eq(i32::from(r.progress)),
            registrations::score.eq(r.score.map(i32::from)),
            registrations::completed_at.eq(r.completed_at.map(to_db)),
        ))
        .execute(self.connection())
        .map_err(failure)?;
        Ok(())
    }

    fn completions(
        &mut self,
        scope: AreaScope,
        since: Option<OffsetDateTime>,
        before: Option<(OffsetDateTime, RegistrationId)>,
        limit: u32,
    ) -> Result<Vec<Registration>, StoreError> {
        let mut sql = registrations::table
            .filter(registrations::learning_area_id.eq(area(scope)))
            .filter(registrations::completed_at.is_not_null())
            .order((registrations::completed_at.desc(), registrations::id.desc()))
            .limit(i64::from(limit))
            .select(RegistrationRow::as_select())
            .into_boxed();
        if let Some(since) = since {
            sql = sql.filter(registrations::completed_at.ge(to_db(since)));
        }
        if let Some((at, id)) = before {
            let at = to_db(at);
            sql = sql.filter(
                registrations::completed_at
                    .lt(at)
                    .or(registrations::completed_at.eq(at).and(registrations::id.lt(id.get()))),
            );
        }
        registrations_of(sql.load(self.connection()).map_err(failure)?)
    }

    fn live_sessions(&mut self, scope: AreaScope, query: &LiveSessionQuery) -> Result<Vec<LiveSession>, StoreError> {
        let mut sql = live_sessions::table
            .filter(live_sessions::learning_area_id.eq(area(scope)))
            .order(live_sessions::id.desc())
            .limit(i64::from(query.limit))
            .select(LiveSessionRow::as_select())
            .into_boxed();
        if let Some(before) = query.before {
            sql = sql.filter(live_sessions::id.lt(before));
        }
        if let Some(training) = query.training_id {
            sql = sql.filter(live_sessions::training_id.eq(training.get()));
        }
        if let Some(from) = query.from {
            sql = sql.filter(live_sessions::starts_at.ge(to_db(from)));
        }
        if let Some(to) = query.to {
            sql = sql.filter(live_sessions::starts_at.lt(to_db(to)));
        }
        let rows = sql.load(self.connection()).map_err(failure)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    fn live_session(&mut self, scope: AreaScope, id: LiveSessionId) -> Result<Option<LiveSession>, StoreError> {
        let row = live_sessions::table
            .filter(live_sessions::learning_area_id.eq(area(scope)))
            .filter(live_sessions::id.eq(id.get()))
            .select(LiveSessionRow::as_select())
            .first(self.connection())
            .optional()
            .map_err(failure)?;
        let Some(row) = row else { return Ok(None) };
        let mut session = LiveSession::from(row);
        let attendees: Vec<(i64, String)> = attendances::table
            .filter(attendances::live_session_id.eq(id.get()))
            .order(attendances::user_id.asc())
            .select((attendances::user_id, attendances::attendance))
            .load(self.connection())
            .map_err(failure)?;
        session.attendees = attendees
            .into_iter()
            .map(|(user, attendance)| {
                let attendance = Attendance::parse(&attendance)
                    .ok_or_else(|| StoreError::Failure("unexpected attendances.attendance".into()))?;
                Ok((UserId::new(user), attendance))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(session))
    }

    fn insert_live_session(
        &mut self,
        scope: AreaScope,
        training_id: TrainingId,
        title: &Name,
        starts_at: OffsetDateTime,
        ends_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<LiveSession, StoreError> {
        let id: i64 = diesel::insert_into(live_sessions::table)
            .values((
                live_sessions::learning_area_id.eq(area(scope)),
                live_sessions::training_id.eq(training_id.get()),
                live_sessions::title.eq(title.as_str()),
                live_sessions::starts_at.eq(to_db(starts_at)),
                live_sessions::ends_at.eq(to_db(ends_at)),
                live_sessions::created_at.eq(to_db(at)),
            ))
            .returning(live_sessions::id)
            .get_result(self.connection())
            .map_err(failure)?;
        Ok(LiveSession {
            id: LiveSessionId::new(id),
            training_id,
            title: title.clone(),
            starts_at,
            ends_at,
            attendees: Vec::new(),
        })
    }

    fn set_attendance(
        &mut self,
        scope: AreaScope,
        session: LiveSessionId,
        user_id: UserId,
        attendance: Attendance,
    ) -> Result<(), StoreError> {
        // The session and the user were checked to be in scope by the service; the delete and
        // insert stand in for an upsert, which the multi-backend connection cannot express.
        let _ = scope;
        diesel::delete(
            attendances::table
                .filter(attendances::live_session_id.eq(session.get()))
                .filter(attendances::user_id.eq(user_id.get())),
        )
        .execute(self.connection())
        .map_err(failure)?;
        diesel::insert_into(attendances::table)
            .values((
                attendances::live_session_id.eq(session.get()),
                attendances::user_id.eq(user_id.get()),
                attendances::attendance.eq(attendance.as_str()),
            ))
            .execute(self.connection())
            .map_err(failure)?;
        Ok(())
    }
}
