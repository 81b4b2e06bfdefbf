"""Batch runs: many consultations, appended to a run folder, summarised as a table."""
