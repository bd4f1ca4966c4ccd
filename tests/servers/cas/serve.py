"""Start the test CAS server: `serve.py PORT DB_PATH`. Migrates a fresh SQLite database,
creates the users of users.json, then serves on 127.0.0.1:PORT (runs in .venv-cas)."""
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(port: str, db_path: str) -> None:
    sys.path.insert(0, str(HERE))
    os.environ["CAS_DB"] = db_path
    os.environ["DJANGO_SETTINGS_MODULE"] = "casserver.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from django.contrib.auth.models import Group, User

    for username, data in json.loads((HERE / "users.json").read_text()).items():
        user = User.objects.create_user(username, data["email"], data["password"],
                                        first_name=data["first_name"],
                                        last_name=data["last_name"])
        for name in data["affiliation"]:
            user.groups.add(Group.objects.get_or_create(name=name)[0])
    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, verbosity=0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
