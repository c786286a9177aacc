"""The policy: its schema (model), reading it from YAML (loader) and its cross-object rules
(validate)."""
