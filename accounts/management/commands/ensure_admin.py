import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Make sure a superuser exists and print how to log in. A new account gets ADMIN_PASSWORD, "
        "or a generated password kept in var/admin_password (mode 600). An existing account's "
        "password is only changed when ADMIN_PASSWORD is set."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default=os.environ.get("ADMIN_USERNAME", "admin"))

    def handle(self, *args, username: str, **options) -> None:
        password_file = Path(settings.VAR_DIR) / "admin_password"
        given = os.environ.get("ADMIN_PASSWORD", "")

        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            password = given or self._saved_or_new(password_file)
            user_model.objects.create_superuser(username=username, email=f"{username}@localhost", password=password)
            self.stdout.write(
                self.style.SUCCESS(f"admin account created: username {username!r}, password {password!r}")
            )
            return

        if given:
            user.set_password(given)
        user.is_staff = user.is_superuser = user.is_active = True
        user.save()
        if given or (password_file.exists() and user.check_password(password_file.read_text().strip())):
            shown = given or password_file.read_text().strip()
            self.stdout.write(self.style.SUCCESS(f"admin account ready: username {username!r}, password {shown!r}"))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"admin account ready: username {username!r} (password unchanged; set ADMIN_PASSWORD to reset it)"
                )
            )

    @staticmethod
    def _saved_or_new(path: Path) -> str:
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        path.write_text(password)
        path.chmod(0o600)
        return password
