"""Set up a fresh or existing installation: indexes, the signing key and the first admin.

Idempotent: an existing admin is left alone unless `--reset-password` is given. A generated
password is printed once; Oktopus ships no known password.
"""

import argparse
import sys

from oktapi.services.retention import prepare_storage
from oktapi.services.users import ensure_admin
from oktapi.settings import Settings
from oktapi.storage import StoreLockedError, open_storage


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """Returns the process exit code; 0 when the installation is ready."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reset-password",
        action="store_true",
        help="set the admin's password again (OKTOPUS_ADMIN_PASSWORD, or a generated one) and "
        "revoke its tokens",
    )
    arguments = parser.parse_args(argv)
    try:
        settings = settings or Settings()
    except ValueError as error:
        print(f"initialize: invalid configuration: {error}", file=sys.stderr)
        return 2
    password = settings.admin_password.get_secret_value() if settings.admin_password else None

    try:
        storage = open_storage(settings)
    except StoreLockedError as error:
        print(f"initialize: {error}. Stop the running server first.", file=sys.stderr)
        return 1
    try:
        prepare_storage(storage, settings)
        if settings.mongo_url is None:
            settings.signing_key  # noqa: B018 - generate the key file now, before the server runs
        setup = ensure_admin(
            db=storage.db,
            username=settings.admin_username,
            password=password,
            reset_password=arguments.reset_password,
        )
    except ValueError as error:
        print(f"initialize: {error}", file=sys.stderr)
        return 2
    finally:
        storage.close()

    if setup.created:
        print(f"Created the admin user {setup.username!r}.")
    elif setup.password_reset:
        print(f"Reset the password of {setup.username!r}; its earlier tokens no longer work.")
    else:
        print(f"The admin user {setup.username!r} exists; left unchanged.")
    if setup.generated_password:
        print(f"Its password (shown only this once): {setup.generated_password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
