"""Instruments, rate cards, opening hours, blackouts, qualifications and the public directory."""
