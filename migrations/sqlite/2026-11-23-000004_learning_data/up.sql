-- The data of a learning area. Every table carries learning_area_id, and every index that a
-- scoped query uses starts with it: a query can only ever read one area.
CREATE TABLE levels (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    learning_area_id  BIGINT NOT NULL REFERENCES learning_areas (id),
    parent_id         BIGINT REFERENCES levels (id),
    name              TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX levels_area ON levels (learning_area_id, id);

CREATE TABLE users (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    learning_area_id  BIGINT NOT NULL REFERENCES learning_areas (id),
    name              TEXT NOT NULL,
    email             TEXT NOT NULL,
    level_id          BIGINT REFERENCES levels (id),
    created_at        TIMESTAMP NOT NULL,
    UNIQUE (learning_area_id, email)
);
CREATE INDEX users_area ON users (learning_area_id, id);

CREATE TABLE trainings (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    learning_area_id  BIGINT NOT NULL REFERENCES learning_areas (id),
    title             TEXT NOT NULL,
    description       TEXT NOT NULL,
    level_id          BIGINT REFERENCES levels (id),
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX trainings_area ON trainings (learning_area_id, id);

CREATE TABLE registrations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    learning_area_id  BIGINT NOT NULL REFERENCES learning_areas (id),
    user_id           BIGINT NOT NULL REFERENCES users (id),
    training_id       BIGINT NOT NULL REFERENCES trainings (id),
    registered_at     TIMESTAMP NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('not_started', 'in_progress', 'completed')),
    progress          INTEGER NOT NULL CHECK (progress BETWEEN 0 AND 100),
    score             INTEGER CHECK (score BETWEEN 0 AND 100),
    completed_at      TIMESTAMP,
    UNIQUE (user_id, training_id)
);
CREATE INDEX registrations_area ON registrations (learning_area_id, id);
CREATE INDEX registrations_completed ON registrations (learning_area_id, completed_at, id);
CREATE INDEX registrations_training ON registrations (training_id);

CREATE TABLE live_sessions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    learning_area_id  BIGINT NOT NULL REFERENCES learning_areas (id),
    training_id       BIGINT NOT NULL REFERENCES trainings (id),
    title             TEXT NOT NULL,
    starts_at         TIMESTAMP NOT NULL,
    ends_at           TIMESTAMP NOT NULL,
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX live_sessions_area ON live_sessions (learning_area_id, id);
CREATE INDEX live_sessions_starts ON live_sessions (learning_area_id, starts_at);

CREATE TABLE attendances (
    live_session_id  BIGINT NOT NULL REFERENCES live_sessions (id),
    user_id          BIGINT NOT NULL REFERENCES users (id),
    attendance       TEXT NOT NULL CHECK (attendance IN ('registered', 'attended', 'absent')),
    PRIMARY KEY (live_session_id, user_id)
);
