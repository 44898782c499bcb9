//! The schema, kept by hand with portable types only, so one diesel code path serves SQLite and
//! PostgreSQL. It must match both migration trees (the store tests would fail otherwise).

diesel::table! {
    learning_areas (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    accounts (id) {
        id -> BigInt,
        email -> Text,
        display_name -> Text,
        role -> Text,
        active -> Bool,
        password_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    access_tokens (id) {
        id -> BigInt,
        learning_area_id -> BigInt,
        name -> Text,
        client_id -> Text,
        secret_hash -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<BigInt>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        target_kind -> Nullable<Text>,
        target_id -> Nullable<BigInt>,
        outcome -> Text,
        details -> Text,
    }
}

diesel::table! {
    bearer_tokens (id) {
        id -> BigInt,
        token_hash -> Binary,
        access_token_id -> BigInt,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Binary,
        account_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    levels (id) {
        id -> BigInt,
        learning_area_id -> BigInt,
        parent_id -> Nullable<BigInt>,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        learning_area_id -> BigInt,
        name -> Text,
        email -> Text,
        level_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    trainings (id) {
        id -> BigInt,
        learning_area_id -> BigInt,
        title -> Text,
        description -> Text,
        level_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    registrations (id) {
        id -> BigInt,
        learning_area_id -> BigInt,
        user_id -> BigInt,
        training_id -> BigInt,
        registered_at -> Timestamp,
        status -> Text,
        progress -> Integer,
        score -> Nullable<Integer>,
        completed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    live_sessions (id) {
        id -> BigInt,
        learning_area_id -> BigInt,
        training_id -> BigInt,
        title -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    attendances (live_session_id, user_id) {
        live_session_id -> BigInt,
        user_id -> BigInt,
        attendance -> Text,
    }
}

diesel::table! {
    /// One row: moved forward by triggers on every change that can alter a bearer validation.
    credential_epoch (id) {
        id -> BigInt,
        epoch -> BigInt,
    }
}

diesel::joinable!(access_tokens -> learning_areas (learning_area_id));
diesel::joinable!(sessions -> accounts (account_id));
diesel::joinable!(bearer_tokens -> access_tokens (access_token_id));
diesel::allow_tables_to_appear_in_same_query!(
    learning_areas,
    accounts,
    access_tokens,
    audit_events,
    bearer_tokens,
    sessions,
    levels,
    users,
    trainings,
    registrations,
    live_sessions,
    attendances
);
