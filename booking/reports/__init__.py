"""National-platform report and the bureau's bulletins (issue 16): reads every area."""
