"""Attributes released to services: e-mail and eduPersonAffiliation (from the user's groups)."""


def campus_attributes(user, service):
    return {"email": user.email, "displayName": user.get_full_name(),
            "eduPersonAffiliation": sorted(g.name for g in user.groups.all())}
