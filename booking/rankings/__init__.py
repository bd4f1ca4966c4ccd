"""Sharing indicators, scoring, snapshots and the bureau dashboard."""
