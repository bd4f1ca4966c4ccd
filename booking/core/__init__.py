"""Shared kernel: knows no domain."""
