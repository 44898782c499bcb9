DROP TABLE attendances;
DROP TABLE live_sessions;
DROP TABLE registrations;
DROP TABLE trainings;
DROP TABLE users;
DROP TABLE levels;
