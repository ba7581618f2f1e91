"""The real cvat-sdk 2.80 against the fake: login, PAT, version check, users."""

from __future__ import annotations

import logging

import pytest
from cvat_sdk import make_client
from cvat_sdk.api_client import exceptions
from cvat_sdk.core.client import Client, Config

from tests.conftest import STRONG_PASSWORD


def test_password_login_reads_current_user(cvat_server):
    with make_client(cvat_server.url, credentials=cvat_server.admin_credentials) as client:
        me = client.users.retrieve_current_user()
        assert me.username == "admin"
        assert me.is_superuser is True
        assert me.groups == ["admin"]


def test_server_version_check_passes_without_warning(cvat_server, caplog):
    caplog.set_level(logging.WARNING)
    client = Client(cvat_server.url, config=Config(allow_unsupported_server=False))
    client.check_server_version(fail_if_unsupported=True)
    assert client.api_client.server_api.retrieve_about()[0].version == "2.80.0"
    assert not [r for r in caplog.records if "compatib" in r.getMessage().lower()]
    client.close()


def test_wrong_password_is_rejected(cvat_server):
    with pytest.raises(exceptions.ApiException) as info:
        make_client(cvat_server.url, credentials=("admin", "wrong"))
    assert info.value.status == 400


def test_personal_access_token_round_trip(cvat_client, cvat_server):
    token, _ = cvat_client.api_client.auth_api.create_access_tokens(
        {"name": "ci", "read_only": False}
    )
    assert token.value and token.name == "ci"
    with make_client(cvat_server.url, access_token=token.value) as pat_client:
        assert pat_client.users.retrieve_current_user().username == "admin"
        current, _ = pat_client.api_client.auth_api.retrieve_access_tokens_self()
        assert current.id == token.id
    listed, _ = cvat_client.api_client.auth_api.list_access_tokens()
    assert [t.name for t in listed.results] == ["ci"]
    updated, _ = cvat_client.api_client.auth_api.partial_update_access_tokens(
        token.id, patched_access_token_write_request={"name": "renamed"}
    )
    assert updated.name == "renamed"
    cvat_client.api_client.auth_api.destroy_access_tokens(token.id)
    with pytest.raises(exceptions.UnauthorizedException):
        with make_client(cvat_server.url, access_token=token.value) as pat_client:
            pat_client.users.retrieve_current_user()


def test_read_only_token_cannot_write(cvat_client, cvat_server):
    token, _ = cvat_client.api_client.auth_api.create_access_tokens({"name": "ro"})
    assert token.read_only is True  # CVAT's default
    with make_client(cvat_server.url, access_token=token.value) as pat_client:
        me = pat_client.users.retrieve_current_user()
        with pytest.raises(exceptions.ForbiddenException):
            pat_client.users.retrieve(me.id).update({"first_name": "X"})


def test_users_list_with_filters_and_search(cvat_client, cvat_server):
    for name in ("worker1", "worker2", "lead"):
        cvat_server.create_user(name, STRONG_PASSWORD, first_name=name.title())
    names = sorted(u.username for u in cvat_client.users.list())
    assert names == ["admin", "lead", "worker1", "worker2"]
    workers = cvat_client.users.list(filter='{"in": ["worker", {"var": "username"}]}')
    assert sorted(u.username for u in workers) == ["worker1", "worker2"]
    page, _ = cvat_client.api_client.users_api.list(search="lead")
    assert [u.username for u in page.results] == ["lead"]
    page, _ = cvat_client.api_client.users_api.list(sort="username", page_size=2)
    assert page.count == 4 and [u.username for u in page.results] == ["admin", "lead"]
    assert page.next is not None and "page=2" in page.next


def test_user_update_and_remove(cvat_client, cvat_server):
    created = cvat_server.create_user("bob", STRONG_PASSWORD)
    bob = cvat_client.users.retrieve(created["id"])
    bob.update({"first_name": "Robert", "groups": ["worker"]})
    assert cvat_client.users.retrieve(created["id"]).first_name == "Robert"
    assert cvat_client.users.retrieve(created["id"]).groups == ["worker"]
    bob.remove()
    with pytest.raises(exceptions.NotFoundException):
        cvat_client.users.retrieve(created["id"])


def test_regular_user_sees_only_themselves(cvat_server):
    cvat_server.create_user("carol", STRONG_PASSWORD)
    with make_client(cvat_server.url, credentials=("carol", STRONG_PASSWORD)) as client:
        assert [u.username for u in client.users.list()] == ["carol"]
        with pytest.raises(exceptions.ForbiddenException):
            client.users.retrieve(1)


def test_logout_ends_the_session(cvat_server):
    client = make_client(cvat_server.url, credentials=cvat_server.admin_credentials)
    client.logout()
    with pytest.raises(exceptions.UnauthorizedException):
        client.users.retrieve_current_user()
    client.close()
