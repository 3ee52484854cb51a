from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.contrib.auth import authenticate, user_logged_in
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Field, Q, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.response import Response
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from accounts.api.serializers import (
    APIKeyCreatedSerializer,
    APIKeySerializer,
    FacilitySerializer,
    MeSerializer,
    UserSerializer,
)
from accounts.lockout import lockout_seconds
from accounts.models import Facility, Role, ServiceAPIKey, User
from accounts.principals import Actor
from accounts.roles import Capability
from accounts.selectors import FacilityPermission
from accounts.services import (
    api_key_create,
    api_key_revoke,
    facility_delete,
    facility_save,
    user_create,
    user_delete,
    user_update,
)
from api.base import AdminScope, FacilityScope, ScopedAPIView, ScopedGenericViewSet
from api.filters import StrictFilterSet

if TYPE_CHECKING:
    from rest_framework_simplejwt.tokens import RefreshToken

ADMIN_WRITES = {
    "create": Capability.ADMIN,
    "update": Capability.ADMIN,
    "partial_update": Capability.ADMIN,
    "destroy": Capability.ADMIN,
}


class FacilityFilter(StrictFilterSet):
    region = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Facility
        fields = ["region", "active"]


class FacilityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedGenericViewSet,
):
    """Facilities. Everyone sees the facilities granted to them; only Admins write."""

    queryset = Facility.objects.all()
    serializer_class = FacilitySerializer
    scope = FacilityScope("id", row_level=False)  # the facilities themselves: no rows about people
    capabilities = {**ScopedGenericViewSet.capabilities, **ADMIN_WRITES}
    lookup_field = "code"
    filterset_class = FacilityFilter
    search_fields = ["code", "name", "region"]
    ordering_fields = ["code", "name", "region"]
    ordering = ["code"]

    def perform_create(self, serializer) -> None:
        serializer.instance = facility_save(
            by=Actor.from_request(self.request), facility=Facility(**serializer.validated_data)
        )

    def perform_update(self, serializer) -> None:
        facility = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(facility, name, value)
        facility_save(by=Actor.from_request(self.request), facility=facility, changed=serializer.validated_data)

    def perform_destroy(self, instance: Facility) -> None:
        facility_delete(by=Actor.from_request(self.request), facility=instance)


class UserFilter(StrictFilterSet):
    facility = filters.CharFilter(
        field_name="facilitygrant__content_object__code", distinct=True, help_text="facility code"
    )

    class Meta:
        model = User
        fields = ["role", "is_active", "facility"]


class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedGenericViewSet,
):
    """Users with their role and facility grants (Admins only)."""

    queryset = User.objects.all()
    serializer_class = UserSerializer
    scope = AdminScope()
    capabilities = {
        "list": Capability.ADMIN,
        "retrieve": Capability.ADMIN,
        "metadata": Capability.ADMIN,
        **ADMIN_WRITES,
    }
    filterset_class = UserFilter
    search_fields = ["username", "email"]
    ordering_fields = ["username", "date_joined"]
    ordering = ["username"]

    def base_queryset(self) -> QuerySet:
        return User.objects.annotate(
            facility_codes=ArrayAgg(
                "facilitygrant__content_object__code",
                filter=Q(facilitygrant__permission__codename=FacilityPermission.VIEW_DATA),
                distinct=True,
                default=[],
            )
        )

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        serializer.instance = user_create(
            by=Actor.from_request(self.request),
            username=data["username"],
            password=data.get("password"),
            email=data.get("email", ""),
            role=data.get("role", Role.VIEWER),
            facilities=data.get("facilities", []),
            is_active=data.get("is_active", True),
        )

    def perform_update(self, serializer) -> None:
        data = serializer.validated_data
        user = user_update(
            by=Actor.from_request(self.request),
            user=serializer.instance,
            email=data.get("email"),
            password=data.get("password"),
            is_active=data.get("is_active"),
            role=data.get("role"),
            facilities=data.get("facilities"),
        )
        serializer.instance = self.base_queryset().get(pk=user.pk)

    def perform_destroy(self, instance: User) -> None:
        if instance.pk == self.request.user.pk:
            raise exceptions.ValidationError({"detail": "You cannot delete your own account."})
        user_delete(by=Actor.from_request(self.request), user=instance)


class APIKeyFilter(StrictFilterSet):
    class Meta:
        model = ServiceAPIKey
        fields = ["revoked"]


class APIKeyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    ScopedGenericViewSet,
):
    """API keys for services (Admins only). The key is shown once, at creation;
    DELETE revokes it at once."""

    queryset = ServiceAPIKey.objects.prefetch_related("facilities")
    serializer_class = APIKeySerializer
    scope = AdminScope()
    capabilities = {
        "list": Capability.ADMIN,
        "retrieve": Capability.ADMIN,
        "metadata": Capability.ADMIN,
        "create": Capability.ADMIN,
        "destroy": Capability.ADMIN,
    }
    lookup_field = "prefix"
    lookup_url_kwarg = "id"
    filterset_class = APIKeyFilter
    ordering = ["-created"]

    @extend_schema(responses={201: APIKeyCreatedSerializer})
    def create(self, request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key, key = api_key_create(
            by=Actor.from_request(request),
            name=serializer.validated_data["name"],
            facilities=serializer.validated_data["facilities"],
        )
        body = {
            "id": api_key.prefix,
            "name": api_key.name,
            "facilities": sorted(f.code for f in serializer.validated_data["facilities"]),
            "key": key,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ServiceAPIKey) -> None:
        api_key_revoke(by=Actor.from_request(self.request), api_key=instance)


class MeView(ScopedAPIView):
    """The signed-in user, its role and facilities: what a front end needs to draw itself."""

    capabilities = {"get": Capability.OWN}

    @extend_schema(responses=MeSerializer)
    def get(self, request) -> Response:
        return Response(MeSerializer(request.user).data)


# --- JWT --------------------------------------------------------------------------


class AccountLocked(exceptions.Throttled):
    default_detail = "Too many failed sign-ins for this username from your address: locked here for a while."
    default_code = "account_locked"


class LockoutAwareTokenSerializer(TokenObtainPairSerializer):
    """simplejwt's username/password serializer, with the brute-force lockout (django-axes)
    applied exactly as on the admin login."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # As long as a username can be: a longer one is a 400 here, not a failed sign-in to record.
        username = User._meta.get_field(User.USERNAME_FIELD)
        assert isinstance(username, Field)  # a concrete field, not a relation
        longest = username.max_length
        self.fields[self.username_field] = serializers.CharField(write_only=True, max_length=longest)
        self.fields["password"] = serializers.CharField(write_only=True, max_length=4096, trim_whitespace=False)

    def validate(self, attrs: dict) -> dict:
        drf_request = self.context["request"]
        request = getattr(drf_request, "_request", drf_request)  # axes flags the Django request
        user = authenticate(request, username=attrs[self.username_field], password=attrs["password"])
        if getattr(request, "axes_locked_out", False):
            raise AccountLocked(wait=lockout_seconds())
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("No active account found with the given credentials.")
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        refresh = cast("RefreshToken", self.get_token(user))  # the pair serializer's token_class
        return {"refresh": str(refresh), "access": str(refresh.access_token)}


TOKEN_PAIR = inline_serializer(
    "TokenPair",
    {
        "access": serializers.CharField(help_text="Send as `Authorization: Bearer <access>`."),
        "refresh": serializers.CharField(help_text="Works once, for a new pair."),
    },
)


@extend_schema_view(post=extend_schema(responses={200: TOKEN_PAIR}))
class TokenObtainView(jwt_views.TokenObtainPairView):
    """Exchange a username and password for an access and a refresh token."""

    serializer_class = LockoutAwareTokenSerializer
    throttle_scope = "auth"


@extend_schema_view(post=extend_schema(responses={200: TOKEN_PAIR}))
class TokenRefreshView(jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token stops working."""

    throttle_scope = "auth"
