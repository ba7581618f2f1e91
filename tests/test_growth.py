"""The growth app (CVAT 2.74+, ``cvat/apps/growth``) through the real cvat-sdk 2.80: the GitHub
star prompt state of each user, its cooldown and its permissions; absent before 2.74."""

from __future__ import annotations

import datetime as dt

import pytest
from cvat_sdk.api_client import models
from cvat_sdk.api_client.exceptions import ApiException

from mockcvat.models import UserGrowthData
from mockcvat.testing import MockCVATServer
from tests.conftest import STRONG_PASSWORD, token_client


def test_sdk_reads_and_updates_own_growth_data(cvat_client):
    api = cvat_client.api_client.growth_api
    page, _ = api.list()
    (mine,) = page.results
    assert mine.owner.username == "admin"
    # a new row starts "shown" when the user joined: on its 30-day cooldown, so not enabled
    assert (mine.github_prompt_shown, mine.github_prompt_enabled) == (True, False)
    assert (mine.github_prompt_support_clicked, mine.promotion_notifications_allowed) == (
        False, True)

    same, _ = api.retrieve(str(mine.id))
    assert same.to_dict() == mine.to_dict()
    updated, _ = api.partial_update(str(mine.id), patched_user_growth_data_request=models.
                                    PatchedUserGrowthDataRequest(
                                        promotion_notifications_allowed=False,
                                        github_prompt_support_clicked=True))
    assert (updated.promotion_notifications_allowed, updated.github_prompt_support_clicked) == (
        False, True)


def test_prompt_enabled_once_the_cooldown_is_over(cvat_server, admin):
    (row,) = admin.get("/api/growth").json()["results"]
    with cvat_server.mock.db.session() as db:
        stored = db.get(UserGrowthData, row["id"])
        stored.github_prompt_shown_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
        db.add(stored)
    row = admin.get(f"/api/growth/{row['id']}").json()
    assert (row["github_prompt_shown"], row["github_prompt_enabled"]) == (False, True)
    # "shown" now: back on cooldown
    row = admin.patch(f"/api/growth/{row['id']}", json={"github_prompt_shown": True}).json()
    assert (row["github_prompt_shown"], row["github_prompt_enabled"]) == (True, False)


def test_only_true_may_be_written(admin):
    (row,) = admin.get("/api/growth").json()["results"]
    for field in ("github_prompt_shown", "github_prompt_support_clicked"):
        response = admin.patch(f"/api/growth/{row['id']}", json={field: False})
        assert (response.status_code, response.json()) == (
            400, {field: ["This value can only be set to true."]})
    response = admin.patch(f"/api/growth/{row['id']}", json={"github_prompt_enabled": False})
    assert response.status_code == 200  # read-only: ignored


def test_rows_and_permissions(cvat_server, admin):
    cvat_server.create_user("gina", STRONG_PASSWORD)
    with token_client(cvat_server, "gina", STRONG_PASSWORD) as gina:
        (own,) = gina.get("/api/growth").json()["results"]
        assert own["owner"]["username"] == "gina"
        admins = admin.get("/api/growth").json()
        assert admins["count"] == 2  # admins see every row made so far
        admin_row = next(r for r in admins["results"] if r["owner"]["username"] == "admin")
        assert gina.get(f"/api/growth/{admin_row['id']}").status_code == 403
        assert gina.patch(f"/api/growth/{admin_row['id']}", json={}).status_code == 403
        assert admin.get(f"/api/growth/{own['id']}").status_code == 200
        assert gina.get("/api/growth/999").json() == {
            "detail": "No UserGrowthData matches the given query."}
        assert gina.get("/api/growth/abc").json() == {"detail": "Not found."}
        assert gina.get("/api/growth", params={"filter": '{"==":[{"var":"user_id"},1]}'}
                        ).json()["count"] == 0


@pytest.mark.parametrize(("version", "status"), [("2.73.0", 404), ("2.74.0", 200)])
def test_growth_appears_in_2_74(version, status):
    with MockCVATServer(cvat_version=version) as server, \
            token_client(server, *server.admin_credentials) as admin:
        assert admin.get("/api/growth").status_code == status


def test_sdk_sees_a_missing_row_as_404(cvat_client):
    with pytest.raises(ApiException) as caught:
        cvat_client.api_client.growth_api.retrieve("12345")
    assert caught.value.status == 404
