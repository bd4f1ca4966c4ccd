"""The platform's console (issue 16): organisations (create, edit, verify, deactivate), people
(list, search, invite, deactivate, re-activate, roles) and the audit viewer.

rules.py (pure: organisation fields, role ranks, audit filters) · services.py (workflows) ·
audit_view.py (the audit trail's queries and export) · forms.py · routes.py.
Depends on accounts and core only."""
