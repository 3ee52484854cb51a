"""The operator console: the Django admin with a dashboard, a system status panel and the
actions an operator needs, each going through the same services as the API."""
