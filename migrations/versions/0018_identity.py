"""Campus sign-on (issue 17): identity providers per organisation (CAS, OpenID Connect, LDAP)
and the external identities linked to users."""
import sqlalchemy as sa
from alembic import op

from booking.core.db import UTCDateTime

revision = "0018_identity"
down_revision = "0017_deployment"
branch_labels = None
depends_on = None


KINDS = ("cas", "oidc", "ldap")
ROLES = ("student", "member", "lab_manager")


def upgrade():
    op.create_table(
        "identity_providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("email_domains", sa.String(length=1000), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("role_rules", sa.JSON(), nullable=False),
        sa.Column("default_role", sa.String(length=16), nullable=False),
        sa.Column("max_role", sa.String(length=16), nullable=False),
        sa.Column("secret_env", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN {KINDS!r}", name=op.f("ck_identity_providers_kind")),
        sa.CheckConstraint(f"default_role IN {ROLES!r}",
                           name=op.f("ck_identity_providers_default_role")),
        sa.CheckConstraint(f"max_role IN {ROLES!r}", name=op.f("ck_identity_providers_max_role")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_identity_providers_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_providers")),
        sa.UniqueConstraint("organisation_id",
                            name=op.f("uq_identity_providers_organisation_id")),
    )
    op.create_table(
        "external_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("session_ticket", sa.String(length=64), nullable=True),
        sa.Column("signed_out_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["provider_id"], ["identity_providers.id"], ondelete="CASCADE",
                                name=op.f("fk_external_identities_provider_id_identity_providers")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_external_identities_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_identities")),
        sa.UniqueConstraint("provider_id", "subject",
                            name="uq_external_identities_provider_subject"),
        sa.UniqueConstraint("provider_id", "user_id", name="uq_external_identities_provider_user"),
    )
    op.create_index("ix_external_identities_user_id", "external_identities", ["user_id"])
    op.create_index("ix_external_identities_session_ticket", "external_identities",
                    ["provider_id", "session_ticket"])


def downgrade():
    op.drop_index("ix_external_identities_session_ticket", table_name="external_identities")
    op.drop_index("ix_external_identities_user_id", table_name="external_identities")
    op.drop_table("external_identities")
    op.drop_table("identity_providers")
