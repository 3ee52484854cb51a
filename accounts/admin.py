from __future__ import annotations

from typing import TYPE_CHECKING, Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.utils.html import format_html_join
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule
from rest_framework_api_key.models import APIKey
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.admin_scope import AdminOnly, ScopedAdminMixin, ScopedModelAdmin
from accounts.models import AuditEvent, Facility, FacilityGrant, Role, ServiceAPIKey, User
from accounts.principals import Actor
from accounts.selectors import FacilityPermission
from accounts.services import access_errors, api_key_revoke, audit_record, facility_set_members, user_set_access

if TYPE_CHECKING:
    _ModelAdminBase = admin.ModelAdmin[Any]  # what the mixin is mixed into
else:
    _ModelAdminBase = object


class AuditedAdminMixin(_ModelAdminBase):
    """Copies the admin's own change log into the append-only audit log, with the source IP."""

    def log_addition(self, request, obj, message):
        audit_record(by=Actor.from_request(request), action=f"admin.add.{obj._meta.model_name}", obj=obj)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        audit_record(
            by=Actor.from_request(request), action=f"admin.change.{obj._meta.model_name}", obj=obj, message=message
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            audit_record(by=Actor.from_request(request), action=f"admin.delete.{obj._meta.model_name}", obj=obj)
        return super().log_deletions(request, queryset)


# --- users: role and facility grants on one page -------------------------------------


class AccessFieldsMixin(forms.Form):
    instance: User  # mixed into the user's model forms
    access_role = forms.ChoiceField(choices=Role.choices, label="Role", initial=Role.VIEWER)
    access_facilities = forms.ModelMultipleChoiceField(
        queryset=Facility.objects.all(),
        required=False,
        widget=FilteredSelectMultiple("facilities", is_stacked=False),
        label="Facilities",
        help_text="Recruiters see records and personal data of these facilities; Viewers see their "
        "KPIs (suppressed) only. Admins see every facility: leave empty.",
    )

    def _init_access(self) -> None:
        user = self.instance
        if user.pk:
            self.fields["access_role"].initial = user.role
            self.fields["access_facilities"].initial = Facility.objects.filter(
                grants__user=user, grants__permission__codename=FacilityPermission.VIEW_DATA
            ).distinct()

    def clean(self):
        cleaned = super().clean()
        assert cleaned is not None  # Django's forms return their cleaned_data
        errors = access_errors(role=cleaned.get("access_role"), facilities=cleaned.get("access_facilities") or [])
        for field, message in errors.items():
            self.add_error(f"access_{field}", message)
        return cleaned


class UserAccessChangeForm(AccessFieldsMixin, UserChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_access()


class UserAccessCreationForm(AccessFieldsMixin, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email")


@admin.register(User)
class UserAdmin(AuditedAdminMixin, ScopedAdminMixin, DjangoUserAdmin):
    scope = AdminOnly()
    form = UserAccessChangeForm
    add_form = UserAccessCreationForm
    list_display = ["username", "email", "role", "granted_facilities", "is_active", "is_staff", "last_login"]
    list_filter = ["role", "is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Access", {"fields": ["access_role", "access_facilities", "is_active", "is_staff", "is_superuser"]}),
        ("Personal info", {"fields": ["first_name", "last_name", "email"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "email", "usable_password", "password1", "password2"]}),
        ("Access", {"fields": ["access_role", "access_facilities"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]

    def base_queryset(self, request):
        return super().base_queryset(request).prefetch_related("facilitygrant_set__content_object")

    @admin.display(description="Facilities")
    def granted_facilities(self, user: User) -> str:
        if user.is_admin_role:
            return "all"
        codes = sorted({grant.content_object.code for grant in user.facilitygrant_set.all()})  # prefetched
        return ", ".join(codes) or "—"

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly.append("is_superuser")  # only a superuser makes another
        return readonly

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        user_set_access(
            by=Actor.from_request(request),
            user=form.instance,
            role=form.cleaned_data["access_role"],
            facilities=form.cleaned_data["access_facilities"],
        )


admin.site.unregister(Group)  # role groups are defined in code (accounts.roles) and synced on migrate
admin.site.unregister(APIKey)  # the library's own key model is unused: ServiceAPIKey (below) is the one
# Every beat entry runs on a crontab or an interval: the sunrise and one-off schedule pages would
# only offer operators ways to build entries nothing here creates.
admin.site.unregister(SolarSchedule)
admin.site.unregister(ClockedSchedule)


def _admin_only(model) -> None:
    """Put a third-party model admin behind the console's scope: Admins only."""
    original = type(admin.site.get_model_admin(model))
    scoped = type(original.__name__, (ScopedAdminMixin, original), {"scope": AdminOnly(), "__module__": __name__})
    admin.site.unregister(model)
    admin.site.register(model, scoped)


# Sign-in lockouts, beat schedules and issued refresh tokens: operating the system, Admins only.
for _model in (AccessAttempt, AccessLog, AccessFailureLog, PeriodicTask, CrontabSchedule, IntervalSchedule,
               OutstandingToken, BlacklistedToken):  # fmt: skip
    _admin_only(_model)


# --- facilities with their grants ------------------------------------------------------


class FacilityGrantInline(admin.TabularInline):
    model = FacilityGrant
    fields = ["user", "permission"]
    readonly_fields = fields  # type: ignore[assignment]  # the stubs type `fields` as nested groups
    extra = 0
    can_delete = False
    verbose_name_plural = "Grants (edit them with 'Users with access' above, or on the user's page)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class FacilityForm(forms.ModelForm):
    members = forms.ModelMultipleChoiceField(
        queryset=User.objects.exclude(role=Role.ADMIN).filter(is_superuser=False),
        required=False,
        widget=FilteredSelectMultiple("users", is_stacked=False),
        label="Users with access",
        help_text="Each user gets its role's grants on this facility. Admins see every facility anyway.",
    )

    class Meta:
        model = Facility
        fields = ["code", "name", "region", "time_zone", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["members"].initial = User.objects.filter(facilitygrant__content_object=self.instance).distinct()


@admin.register(Facility)
class FacilityAdmin(AuditedAdminMixin, ScopedModelAdmin):
    """Admins only: the page names who has access (the API lists a caller's own facilities)."""

    scope = AdminOnly()
    form = FacilityForm
    list_display = ["code", "name", "region", "time_zone", "active"]
    list_filter = ["active", "region"]
    search_fields = ["code", "name", "region"]
    inlines = [FacilityGrantInline]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if "members" in form.changed_data:
            facility_set_members(
                by=Actor.from_request(request), facility=form.instance, users=form.cleaned_data["members"]
            )


# --- API keys ---------------------------------------------------------------------------


@admin.register(ServiceAPIKey)
class ServiceAPIKeyAdmin(AuditedAdminMixin, ScopedModelAdmin):
    scope = AdminOnly()
    allowed_writes = ("add", "change")  # revoke instead of deleting, so the audit trail keeps naming the key
    list_display = ["name", "prefix", "facility_codes", "created", "created_by", "revoked", "expiry_date"]
    list_filter = ["revoked", "facilities"]
    search_fields = ["name", "prefix"]
    filter_horizontal = ["facilities"]
    actions = ["revoke_keys"]

    def base_queryset(self, request):
        return super().base_queryset(request).prefetch_related("facilities").select_related("created_by")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "facilities", "expiry_date"]
        return ["name", "prefix", "facility_codes", "created", "created_by", "revoked", "expiry_date"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # A key's reach never changes after issue: revoke it and issue another.
        return ["prefix", "facility_codes", "created", "created_by", "revoked", "expiry_date"]

    @admin.display(description="Facilities")
    def facility_codes(self, api_key: ServiceAPIKey) -> str:
        return ", ".join(sorted(f.code for f in api_key.facilities.all()))

    def save_model(self, request, obj: ServiceAPIKey, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        obj.created_by = request.user
        key = ServiceAPIKey.objects.assign_key(obj)
        obj.save()
        messages.warning(
            request,
            f"The API key for {obj.name!r} is: {key} — copy it now, it will not be shown again. "
            "Send it as 'Authorization: Api-Key <key>'.",
        )

    @admin.action(description="Revoke selected API keys")
    def revoke_keys(self, request, queryset) -> None:
        for api_key in queryset.filter(revoked=False):
            api_key_revoke(by=Actor.from_request(request), api_key=api_key)
        self.message_user(request, "Revoked. Services using these keys are refused from now on.")


# --- audit log ----------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedModelAdmin):
    scope = AdminOnly()
    allowed_writes = ()  # append-only
    list_display = ["at", "actor_label", "action", "object_type", "object_repr", "ip"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_repr", "object_id", "ip"]
    date_hierarchy = "at"
    show_full_result_count = False
    readonly_fields = [
        "at",
        "actor",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "ip",
        "details_table",
    ]
    fields = readonly_fields  # type: ignore[assignment]  # the stubs' list types are invariant

    @admin.display(description="Details")
    def details_table(self, event: AuditEvent) -> str:
        return format_html_join("", "<div><b>{}</b>: {}</div>", ((k, v) for k, v in sorted(event.details.items())))
