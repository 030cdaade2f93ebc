"""URLs of the whole server. Every view here has an access rule (safepassage/accounts/rules.py)."""

from __future__ import annotations

from allauth.account import views as account_views
from django.conf import settings
from django.urls import include, path
from django.views.i18n import set_language

from safepassage.accounts import views as accounts
from safepassage.admin import admin_site
from safepassage.api import views as api_views
from safepassage.api.v1 import api
from safepassage.audit import views as audit
from safepassage.intake import views as intake
from safepassage.public import views as public
from safepassage.vault import views as vault

# Only the allauth views we use; sign-up, e-mail and password-reset-by-mail do not exist here.
auth_patterns = [
    path("login/", account_views.login, name="account_login"),
    path("logout/", account_views.logout, name="account_logout"),
    path("inactive/", account_views.account_inactive, name="account_inactive"),
    path("reauthenticate/", account_views.reauthenticate, name="account_reauthenticate"),
    path("password/change/", account_views.password_change, name="account_change_password"),
    path("2fa/", include("allauth.mfa.urls")),
]

# Both faces: the entry page and health.
common_patterns = [
    path("", public.index, name="index"),
    path("healthz", public.healthz, name="healthz"),
    path("readyz", public.readyz, name="readyz"),
]

# The public face: anonymous, no session, holds no private key (docs/intake.md).
public_patterns = [
    path("help/", intake.help_form, name="intake_form"),
    path("help/mailbox/", intake.mailbox, name="intake_mailbox"),
    path("help/mailbox/send/", intake.mailbox_send, name="intake_mailbox_send"),
]

# The staff face: everything behind log-in, and the partner API. The language switch sets a cookie: staff
# only (the requester's pages pass `?lang=`).
staff_patterns = [
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include(auth_patterns)),
    path("invite/<str:token>/", accounts.invitation_accept, name="invitation_accept"),
    path("home/", accounts.home, name="home"),
    path("people/", accounts.people, name="people"),
    path("people/invite/", accounts.invite, name="invite"),
    path("people/<int:person_id>/", accounts.person, name="person"),
    path(
        "people/invitations/<int:invitation_id>/revoke/", accounts.invitation_revoke, name="invitation_revoke"
    ),
    path("memberships/<int:membership_id>/disable/", accounts.person_disable, name="person_disable"),
    path("memberships/<int:membership_id>/enable/", accounts.person_enable, name="person_enable"),
    path("memberships/<int:membership_id>/roles/", accounts.role_add, name="role_add"),
    path("memberships/<int:membership_id>/remove/", accounts.role_remove, name="role_remove"),
    path("memberships/<int:membership_id>/reset-link/", accounts.reset_link, name="reset_link"),
    path("memberships/<int:membership_id>/revoke-factors/", accounts.factors_revoke, name="factors_revoke"),
    path("requests/", intake.inbox, name="intake_inbox"),
    path("requests/<uuid:request_id>/", intake.request_page, name="intake_request"),
    path("requests/<uuid:request_id>/reply/", intake.request_reply, name="intake_request_reply"),
    path("requests/<uuid:request_id>/mark/", intake.request_mark, name="intake_request_mark"),
    path("requests/<uuid:request_id>/assign/", intake.request_assign, name="intake_request_assign"),
    path("requests/<uuid:request_id>/files/<uuid:file_id>/", intake.request_file, name="intake_request_file"),
    path("audit/", audit.audit_list, name="audit"),
    path("vault/", vault.vault, name="vault"),
    path("vault/unseal/", vault.vault_unseal, name="vault_unseal"),
    path("vault/panic/", vault.vault_panic, name="vault_panic"),
    path("api-tokens/", api_views.tokens, name="api_tokens"),
    path("api-tokens/<int:token_id>/revoke/", api_views.token_revoke, name="api_token_revoke"),
    path("api/v1/", api.urls),
    path("admin/", admin_site.urls),
]

# SAFEPASSAGE_FACE picks what this process serves; the embedded default serves both.
urlpatterns = (
    common_patterns
    + {
        "public": public_patterns,
        "staff": staff_patterns,
        "all": public_patterns + staff_patterns,
    }[settings.SAFEPASSAGE_FACE]
)

handler400 = "safepassage.public.errors.bad_request"
handler403 = "safepassage.public.errors.forbidden"
handler404 = "safepassage.public.errors.not_found"
handler500 = "safepassage.public.errors.server_error"
