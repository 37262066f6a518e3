"""The crash log (``internal error: ... the traceback is in /tmp/mktsync-crash-*.log``)
holds no secrets, whatever the bug put into the exception (docs/exit-codes.md): not the
value of a ``${VAR}`` the config read, not the client secret, not a URL's password."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

# A real process with a bug planted in it: the command's handler resolves the ledger's
# ${VAR} as apply does, then fails quoting it and another URL (as psycopg quotes a URL
# it cannot parse).
BUGGY = textwrap.dedent(
    """
    import argparse, sys
    import mktsync.cli as cli
    from mktsync.config.model import EnvString

    def handler(args, out, err):
        url = EnvString(raw="${MKTSYNC_LEDGER_URL}", field="ledger").resolve()
        token = EnvString(raw="${MKTSYNC_API_TOKEN}", field="token").resolve()
        raise RuntimeError(
            f"cannot parse {url!r} with {token} nor 'postgresql://ops:Pa55word@[::1/x'"
            " for client secret-client-XYZ"
        )

    class Parser:
        def parse_args(self, argv):
            return argparse.Namespace(handler=handler)

    cli.build_parser = Parser
    sys.exit(cli.main(["validate"]))
    """
)


def test_the_crash_log_hides_every_secret_the_bug_quoted(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MKTSYNC_LEDGER_URL": "postgresql://ci:p%40ssW0rd@db.internal/mk?sslpassword=k3yPass",
        "MKTSYNC_API_TOKEN": "tok-123456789",
        "MARKETO_CLIENT_SECRET": "secret-client-XYZ",
        "TMPDIR": str(tmp_path),
    }
    proc = subprocess.run(
        [sys.executable, "-c", BUGGY], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1, proc.stderr
    found = re.search(r"the traceback is in (\S+)", proc.stderr)
    assert found, proc.stderr
    log = Path(found.group(1)).read_text(encoding="utf-8")
    assert "Traceback" in log and "RuntimeError: cannot parse" in log  # still useful
    for secret in ("p%40ssW0rd", "p@ssW0rd", "k3yPass", "tok-123456789", "Pa55word"):
        assert secret not in log, secret
    assert "secret-client-XYZ" not in log
    assert "postgresql://ops:***@[::1/x" in log
