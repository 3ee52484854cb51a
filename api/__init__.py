"""The project's HTTP framework, shared by every app's endpoints: the scoped base views (the one
enforcement point), authentication by API key, strict parsing and filtering, throttles, content
negotiation, pagination, error answers, the request boundary middleware and the OpenAPI schema
class. It sits on accounts' identity and roles and below every other app (docs/architecture.md).
"""
