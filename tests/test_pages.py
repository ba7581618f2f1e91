"""The state page (``/_mockcvat/``) and the Swagger UI (``/api/docs``) in a real headless
browser: Debian's Chromium driven by Playwright (``make browser`` installs it; ``make test``
runs that first). Every request the page makes to another host is blocked and recorded, so the
pages are shown to work offline."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import STRONG_PASSWORD
from tests.media_files import make_image

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Chromium is not installed (`make browser` installs Debian's chromium package)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, cvat_server):
    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []

    def only_the_server(route):  # offline: nothing may come from elsewhere
        if route.request.url.startswith(cvat_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert outside == []


def test_state_page_shows_the_state_and_the_live_journal(cvat_server, cvat_client, page,
                                                         tmp_path):
    cvat_server.create_user("alice", STRONG_PASSWORD)
    cvat_server.create_organization("acme", "admin", {"alice": "worker"})
    task = cvat_client.tasks.create_from_data(
        {"name": "street", "labels": [{"name": "car"}]},
        resources=[str(make_image(tmp_path / "a.png", (8, 6)))])
    job = task.get_jobs()[0]
    label = task.get_labels()[0]
    job.set_annotations({"shapes": [{"type": "rectangle", "frame": 0, "label_id": label.id,
                                     "points": [1, 1, 3, 3]}] * 2})

    page.goto(cvat_server.url + "/_mockcvat/")
    page.wait_for_selector("#tasks tr[data-id='1']")
    assert page.locator("#users").inner_text().count("alice") == 1
    assert "acme" in page.locator("#organizations").inner_text()
    assert page.locator(f"#tasks tr[data-id='{task.id}'] a").get_attribute("href") == (
        f"/api/tasks/{task.id}")
    jobs = page.locator(f"#jobs tr[data-id='{job.id}']").inner_text()
    assert "tags: 0, shapes: 2, tracks: 0" in jobs
    request = page.locator("#requests").inner_text()
    assert "finished" in request and "create" in request
    journal = page.locator("#journal tbody")
    journal.locator("tr", has_text="tasks_create_data").first.wait_for()

    cvat_client.projects.create({"name": "made later", "labels": [{"name": "x"}]})
    journal.locator("tr", has_text="projects_create").wait_for()  # live, without a reload
    page.locator("#projects", has_text="made later").wait_for()
    first = journal.locator("tr").first.inner_text()
    assert "POST" in first and "/api/projects" in first and "201" in first


def test_swagger_ui_offline_and_after_a_login_in_the_page(cvat_server, page):
    page.goto(cvat_server.url + "/api/docs")
    page.wait_for_selector("#login:not([hidden])")  # CVAT's schema needs a logged-in user
    page.fill("#username", "admin")
    page.fill("#password", "admin")
    page.click("#login button")
    operation = page.locator("#operations-projects-projects_create")
    operation.wait_for()
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("textarea.body-param__text").fill(
        '{"name": "from swagger", "labels": [{"name": "car"}]}')
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status")
    status.wait_for()
    assert status.inner_text().strip() == "201"  # a session and its CSRF header
    created = cvat_server.journal.last("projects_create")
    assert created["user"] == "admin" and created["request_headers"]["x-csrftoken"] == "***"
