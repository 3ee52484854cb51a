from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.models import Facility, Role, ServiceAPIKey, User
from accounts.principals import principal_role
from accounts.selectors import user_facility_codes
from accounts.services import access_errors


class FacilitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Facility
        fields = ["code", "name", "region", "time_zone", "active"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["code"].read_only = True  # upstream systems send this code; it never changes
        return fields


class UserSerializer(serializers.ModelSerializer):
    """A user with its role and facility grants in one payload (Admins only)."""

    facilities = serializers.ListField(
        child=serializers.SlugRelatedField(slug_field="code", queryset=Facility.objects.all()),
        required=False,
        help_text="Facility codes granted to the user. Empty for Admins, who see every facility.",
    )
    password = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)

    class Meta:
        model = User
        fields = ["id", "username", "email", "role", "facilities", "is_active", "password"]
        read_only_fields = ["id"]

    def to_representation(self, instance: User) -> dict:
        data = super().to_representation(instance)
        codes = getattr(instance, "facility_codes", None)
        data["facilities"] = sorted(codes) if codes is not None else user_facility_codes(instance)
        return data

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            fields["username"].read_only = True
        return fields

    def validate(self, attrs: dict) -> dict:
        role = attrs.get("role", getattr(self.instance, "role", Role.VIEWER))
        errors = access_errors(role=role, facilities=attrs.get("facilities") or [])
        if errors:
            raise serializers.ValidationError({field: [message] for field, message in errors.items()})
        password = attrs.get("password")
        if self.instance is None and not password:
            raise serializers.ValidationError({"password": ["This field is required."]})
        if password:
            user = self.instance or User(username=attrs.get("username", ""), email=attrs.get("email", ""))
            try:
                password_validation.validate_password(password, user)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": exc.messages}) from exc
        return attrs


class MeSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(
        help_text="the role that decides what the user may do: superusers act as Admins"
    )
    facilities = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "role", "facilities", "is_staff"]
        read_only_fields = fields

    def get_role(self, user: User) -> str:
        return principal_role(user) or user.role

    def get_facilities(self, user: User) -> list[str]:
        if user.is_admin_role:
            return list(Facility.objects.order_by("code").values_list("code", flat=True))
        return user_facility_codes(user)


class APIKeySerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="prefix", read_only=True)
    facilities = serializers.SlugRelatedField(
        slug_field="code", queryset=Facility.objects.all(), many=True, allow_empty=False
    )

    class Meta:
        model = ServiceAPIKey
        fields = ["id", "name", "facilities", "created", "revoked", "expiry_date"]
        read_only_fields = ["created", "revoked", "expiry_date"]


class APIKeyCreatedSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    facilities = serializers.ListField(child=serializers.CharField())
    key = serializers.CharField(help_text="Shown once. Send it as `Authorization: Api-Key <key>`.")
