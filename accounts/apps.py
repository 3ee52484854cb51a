from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate


def _sync_role_groups(sender, **kwargs) -> None:
    from accounts.roles import roles_sync_groups

    roles_sync_groups()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self) -> None:
        from accounts import scope, signals  # noqa: F401  (scope cache invalidation, login auditing)
        from accounts.admin_scope import check_admins_are_scoped

        # Every ModelAdmin of the console derives from the scoped base (accounts.E001).
        checks.register(check_admins_are_scoped, checks.Tags.admin)

        # Permissions are created after each migrate; the role groups follow them.
        post_migrate.connect(_sync_role_groups, dispatch_uid="accounts.sync_role_groups")
