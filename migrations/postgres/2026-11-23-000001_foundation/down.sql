DROP TABLE audit_events;
DROP TABLE access_tokens;
DROP TABLE accounts;
DROP TABLE learning_areas;
