from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Facility, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    pass


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "region", "time_zone", "active"]
    list_filter = ["active", "region"]
    search_fields = ["code", "name", "region"]
