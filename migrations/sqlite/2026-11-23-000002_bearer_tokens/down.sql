DROP TABLE bearer_tokens;
