"""One rule shows a database URL in messages (``config.dburl.redact``): no password, no query."""

from __future__ import annotations

import pytest

from mktsync.config.dburl import redact, url_secrets
from mktsync.config.model import EnvString
from mktsync.config.security import as_written
from mktsync.errors import LedgerError

SECRET = "s3cret-Zq9"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"postgresql://ci:{SECRET}@db.internal:5432/mk",
            "postgresql://ci:***@db.internal:5432/mk",
        ),
        (f"postgresql://ci@db.internal/mk?password={SECRET}", "postgresql://ci@db.internal/mk"),
        (
            f"postgresql://ci@db.internal/mk?sslmode=require&sslpassword={SECRET}",
            "postgresql://ci@db.internal/mk",
        ),
        (f"snowflake://ci@acct/db?token={SECRET}", "snowflake://ci@acct/db"),
        (f"postgresql://ci:pa?ss{SECRET}@db/mk?x=1", "postgresql://ci:***@db/mk"),
        ("${MKTSYNC_LEDGER_URL}", "${MKTSYNC_LEDGER_URL}"),
        ("sqlite:///.mktsync/ledger.db", "sqlite:///.mktsync/ledger.db"),
    ],
)
def test_a_url_is_shown_without_password_or_query(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_the_secrets_of_a_url_are_its_password_and_credential_values() -> None:
    url = f"postgresql://ci:p%40{SECRET}@db/mk?sslmode=require&sslpassword=k{SECRET}"
    assert url_secrets(url) == {f"p%40{SECRET}", f"p@{SECRET}", f"k{SECRET}"}
    assert url_secrets("postgresql://ci@db/mk?sslmode=require") == set()


def test_a_ledger_error_names_the_url_as_written_and_quotes_no_secret() -> None:
    resolved = f"postgresql://ci:{SECRET}@db.internal:5432/mk?sslpassword=k{SECRET}"
    written = EnvString(raw="${MKTSYNC_LEDGER_URL}", field="ledger", url="ledger")
    # A ledger's messages name the database by redact(); a driver may quote a parameter.
    with pytest.raises(LedgerError) as caught, as_written(written, resolved):
        raise LedgerError(f"{redact(resolved)}: sslpassword 'k{SECRET}' does not open the key")
    assert str(caught.value) == ("${MKTSYNC_LEDGER_URL}: sslpassword '***' does not open the key")
