"""secrets at rest: trunk, tenant SMTP and SMS gateway passwords encrypted (Fernet)

The columns become TEXT (a Fernet token is longer than the password), then every
stored password is encrypted with the server's key (one already encrypted with it is
left alone); downgrade decrypts them and narrows the columns back. The key is the
one bound to the migrating engine (``Runtime.build``), else the configured one
(``HELPLINE_SECRET_KEY`` or ``DATA_DIR/secret.key``, read only when there is
something to convert).

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-24 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import InvalidToken

from helpline.core.secrets import Keyring, SecretKeyError, keyring_for

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table -> (key column, clear width, nullable)
COLUMNS = {
    "trunks": ("id", 200, True),
    "tenant_mail_settings": ("tenant_id", 255, False),
    "sms_gateways": ("id", 200, False),
}


def _keyring(bind: sa.engine.Connection) -> Keyring:
    bound = keyring_for(bind.dialect)
    if bound is not None:
        return bound
    from helpline.config import load_settings

    settings = load_settings()
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    return Keyring.load(secret_key=key, data_dir=settings.data_dir)


def _convert(encrypt: bool) -> None:
    bind = op.get_bind()
    keyring: Keyring | None = None
    for table_name, (key, _, _) in COLUMNS.items():
        table = sa.table(table_name, sa.column(key), sa.column("password", sa.Text()))
        rows = bind.execute(
            sa.select(table.c[key], table.c.password).where(table.c.password != "")
        ).all()
        for ident, value in rows:
            keyring = keyring or _keyring(bind)
            try:
                clear = keyring.decrypt(value)
                if encrypt:
                    continue  # already encrypted with this key
            except InvalidToken:
                if not encrypt:
                    raise SecretKeyError(
                        f"{table_name}.password of row {ident} cannot be decrypted with the "
                        "secret key: downgrade with the key that encrypted it"
                    ) from None
                clear = value
            stored = keyring.encrypt(clear) if encrypt else clear
            bind.execute(table.update().where(table.c[key] == ident).values(password=stored))


def _retype(table: str, old: sa.types.TypeEngine[str], new: sa.types.TypeEngine[str]) -> None:
    """Change the password column's type. SQLite cannot alter a column, and batch mode's
    copy-and-drop of the table would fire ``sms_messages``' ``ON DELETE SET NULL`` (the
    foreign keys are on): the column is renamed, added again and copied instead."""
    _, _, nullable = COLUMNS[table]
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(table, "password", existing_type=old, type_=new, existing_nullable=nullable)
        return
    kind = new.compile(dialect=op.get_bind().dialect)
    op.execute(f"ALTER TABLE {table} RENAME COLUMN password TO password_old")
    op.execute(
        f"ALTER TABLE {table} ADD COLUMN password {kind}"
        + ("" if nullable else " NOT NULL DEFAULT ''")
    )
    op.execute(f"UPDATE {table} SET password = password_old")
    op.execute(f"ALTER TABLE {table} DROP COLUMN password_old")


def upgrade() -> None:
    for table, (_, width, _) in COLUMNS.items():
        _retype(table, sa.String(length=width), sa.Text())
    _convert(encrypt=True)


def downgrade() -> None:
    _convert(encrypt=False)
    for table, (_, width, _) in COLUMNS.items():
        _retype(table, sa.Text(), sa.String(length=width))
