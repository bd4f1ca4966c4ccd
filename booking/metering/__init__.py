"""Usage sessions: facts of who used what and when; corrections append."""
