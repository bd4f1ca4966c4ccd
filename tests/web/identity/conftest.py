import pytest

from tests.factories.identity import SECRETS


@pytest.fixture(autouse=True)
def sso_secrets(app):
    """The providers' secrets, as production reads them from the environment."""
    app.config["SSO_SECRETS"] = SECRETS
