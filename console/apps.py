from django.contrib.admin.apps import AdminConfig


class OperatorConsoleConfig(AdminConfig):
    """The admin, with the console's site (dashboard home, status panel) as the default site."""

    default_site = "console.site.OperatorAdminSite"
