"""Writes and orchestration for reports: definitions, runs, deliveries."""
