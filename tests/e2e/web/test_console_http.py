"""The console over plain HTTP (no browser): sign-in failures, the session cookie, CSRF refusals, one
account never reaching another's models (or migrations), escaping, upload limits, errors as pages, GET /
for browsers and for API clients, the bill against `drmodels bill --json`, and when "Reset permissions
and retry" is offered."""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from support import servers
from support.console import (
    MAX_UPLOAD,
    PASSWORD,
    Console,
    archive_of,
    csrf_of,
    http_session,
    import_s3,
    make_account,
    seed_june_2021,
    settled,
)
from support.import_fixtures import write_model


def _login_page(session: requests.Session, console: Console) -> str:
    return csrf_of(session.get(console.url + "/login").text)


def _import(
    session: requests.Session, csrf: str, console: Console, name: str, archive: Path, **fields: str
) -> Any:
    with archive.open("rb") as data:
        return session.post(
            console.url + "/import",
            data={"csrf": csrf, "name": name, "action": "import", **fields},
            files={"archive": (archive.name, data, "application/gzip")},
            allow_redirects=False,
        )


def test_sign_in_refuses_a_wrong_password_an_unknown_account_and_a_missing_token(console: Console) -> None:
    session = requests.Session()
    token = _login_page(session, console)
    for account, password in (
        (console.alice.name, "not the password"),
        (f"nobody-{uuid.uuid4().hex[:6]}", PASSWORD),
    ):
        answer = session.post(
            console.url + "/login", data={"csrf": token, "account": account, "password": password},
            allow_redirects=False,
        )  # fmt: skip
        assert answer.status_code == 401
        assert "Wrong account or password." in answer.text
        assert "drmodels_session" not in answer.cookies
    answer = session.post(
        console.url + "/login",
        data={"account": console.alice.name, "password": PASSWORD},
        allow_redirects=False,
    )
    assert answer.status_code == 403
    assert "CsrfTokenMissing" in answer.text
    by_id = session.post(
        console.url + "/login",
        data={"csrf": token, "account": console.alice.key.account_id, "password": PASSWORD},
        allow_redirects=False,
    )
    assert by_id.status_code == 303  # the account id signs in too


def test_the_session_cookie_is_httponly_lax_and_sign_out_revokes_it(console: Console) -> None:
    session = requests.Session()
    token = _login_page(session, console)
    answer = session.post(
        console.url + "/login", data={"csrf": token, "account": console.alice.name, "password": PASSWORD},
        allow_redirects=False,
    )  # fmt: skip
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console/" in cookie
    assert "Secure" not in cookie  # served over http here; over https it is Secure
    value = answer.cookies["drmodels_session"]
    csrf = csrf_of(session.get(console.url + "/models").text)
    assert (
        session.post(console.url + "/logout", data={"csrf": csrf}, allow_redirects=False).status_code == 303
    )
    replayed = requests.get(
        console.url + "/models", cookies={"drmodels_session": value}, allow_redirects=False
    )
    assert replayed.status_code == 303 and "/console/login" in replayed.headers["location"]


def test_every_post_without_its_csrf_token_is_refused_and_changes_nothing(
    console: Console, worker: Any, tmp_path: Path
) -> None:
    session, csrf = http_session(console, console.alice)
    name = f"kept-{uuid.uuid4().hex[:6]}"
    archive = archive_of(write_model(tmp_path / name), tmp_path / "m.tar.gz")
    assert _import(session, csrf, console, name, archive).status_code == 303
    assert settled(session, console, name)["status"] == "READY"
    for path in (f"/models/{name}/delete", f"/models/{name}/retry", "/logout"):
        for data in ({}, {"csrf": "forged"}):
            answer = session.post(console.url + path, data=data, allow_redirects=False)
            assert answer.status_code == 403, path
            assert "CsrfTokenMissing" in answer.text and "nothing was done" in answer.text
    refused = _import(session, "forged", console, f"other-{uuid.uuid4().hex[:6]}", archive)
    assert refused.status_code == 403
    assert session.get(f"{console.url}/models/{name}").status_code == 200  # not deleted, still signed in
    assert not list(
        (console.server.data_dir / "uploads" / console.alice.key.account_id).glob("*/files/archive/m.tar.gz")
    )[1:]


def test_another_accounts_model_answers_404_everywhere(console: Console, worker: Any, tmp_path: Path) -> None:
    alice, alice_csrf = http_session(console, console.alice)
    name = f"alices-{uuid.uuid4().hex[:6]}"
    archive = archive_of(write_model(tmp_path / name), tmp_path / "m.tar.gz")
    assert _import(alice, alice_csrf, console, name, archive).status_code == 303
    assert settled(alice, console, name)["status"] == "READY"
    bob, bob_csrf = http_session(console, console.bob)
    for path in (
        f"/models/{name}",
        f"/models/{name}/delete",
        *(f"/models/{name}/download/{a}" for a in ("car", "virtual", "logs")),
    ):
        answer = bob.get(console.url + path)
        assert answer.status_code == 404, path
        assert "NotFound" in answer.text and name in answer.text
    assert bob.post(f"{console.url}/models/{name}/delete", data={"csrf": bob_csrf}).status_code == 404
    assert bob.get(console.url + "/statuses", params={"name": name}).json() == {"models": []}
    assert name not in bob.get(console.url + "/models").text
    assert alice.get(f"{console.url}/models/{name}/download/car").content[:2] == b"\x1f\x8b"


def test_user_text_is_escaped(console: Console, worker: Any, tmp_path: Path) -> None:
    session, csrf = http_session(console, console.alice)
    name = f"escaped-{uuid.uuid4().hex[:6]}"
    archive = archive_of(write_model(tmp_path / name), tmp_path / "m.tar.gz")
    description = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    assert _import(session, csrf, console, name, archive, description=description).status_code == 303
    assert settled(session, console, name)["status"] == "READY"  # the reward function is shown once READY
    page = session.get(f"{console.url}/models/{name}")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<span class="k">def</span>' in page.text  # the reward function, highlighted by Pygments
    highlight = session.get(console.url + "/static/highlight.css")
    assert highlight.status_code == 200 and ".highlight .k" in highlight.text
    filtered = session.get(console.url + "/models", params={"name": '"><script>x</script>'})
    assert filtered.status_code == 200 and "<script>x</script>" not in filtered.text


def test_uploads_over_the_limit_bad_input_and_unknown_pages_are_pages_not_tracebacks(
    console: Console, tmp_path: Path
) -> None:
    session, csrf = http_session(console, console.alice)
    big = tmp_path / "big.tar.gz"
    big.write_bytes(b"\x1f\x8b" + bytes(MAX_UPLOAD + 1024))
    answer = _import(session, csrf, console, "too-big", big)
    assert answer.status_code == 413
    assert "UploadTooLarge" in answer.text and "DRMODELS_MODEL_MAX_BYTES" in answer.text
    assert not list((console.server.data_dir / "uploads").rglob("big.tar.gz"))  # nothing kept
    bad_name = _import(
        session,
        csrf,
        console,
        "no spaces allowed",
        archive_of(write_model(tmp_path / "m"), tmp_path / "m.tar.gz"),
    )
    assert bad_name.status_code == 400 and "name" in bad_name.text
    for path, status, code in (
        ("/models/does-not-exist", 404, "NotFound"),
        ("/models?status=SHINY", 400, "InvalidRequest"),
        ("/models?page=zero", 400, "InvalidRequest"),
        ("/no/such/page", 404, "NotFound"),
        ("/models/x/download/everything", 404, "NotFound"),
    ):
        page = session.get(console.url + path)
        assert page.status_code == status, path
        assert code in page.text and "Traceback" not in page.text
        assert page.headers["content-type"].startswith("text/html")
    local = session.post(
        console.url + "/import", data={"csrf": csrf, "name": "local", "action": "check", "s3_path": "/etc"},
        files={"archive": ("", b"", "application/octet-stream")},
    )  # fmt: skip
    assert local.status_code == 400 and "must be an S3 location" in local.text
    huge_form = requests.post(  # only the upload routes bound their own bodies
        console.url + "/login", data={"account": "x" * (2 * 1024 * 1024), "password": "p"},
        allow_redirects=False,
    )  # fmt: skip
    assert huge_form.status_code == 413


def test_get_root_sends_browsers_to_the_console_and_leaves_the_api_alone(console: Console) -> None:
    browser = requests.get(
        console.server.url + "/", headers={"Accept": "text/html,*/*"}, allow_redirects=False
    )
    assert browser.status_code == 303 and browser.headers["location"] == "/console/"
    api = requests.get(
        console.server.url + "/", headers={"Accept": "application/json"}, allow_redirects=False
    )
    assert api.status_code != 303 and api.headers["content-type"].startswith("application/json")
    signed_out = requests.get(console.url + "/models", allow_redirects=False)
    assert (
        signed_out.status_code == 303
        and signed_out.headers["location"] == "/console/login?next=/console/models"
    )


def test_a_folder_upload_is_checked_as_a_folder_and_unsafe_names_are_refused(
    console: Console, tmp_path: Path
) -> None:
    session, csrf = http_session(console, console.alice)
    folder = write_model(tmp_path / "picked")
    files = [
        ("folder", (f"picked/{p.relative_to(folder).as_posix()}", p.read_bytes(), "application/octet-stream"))
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]
    checked = session.post(
        console.url + "/import", data={"csrf": csrf, "name": "picked", "action": "check"}, files=files
    )
    assert checked.status_code == 200
    assert "Importable" in checked.text and "picked/" in checked.text
    uploads = console.server.data_dir / "uploads"
    for evil in ("../escaped.json", "picked/../../escaped.json", "/etc/escaped.json", "a//b.json"):
        refused = session.post(
            console.url + "/import", data={"csrf": csrf, "name": "evil", "action": "check"},
            files=[("folder", (evil, b"{}", "application/json"))],
        )  # fmt: skip
        assert refused.status_code == 400, evil
        assert "is not a plain relative path" in refused.text
    assert not list(console.server.data_dir.parent.rglob("escaped.json"))
    assert not [p for p in uploads.rglob("*") if not p.resolve().is_relative_to(uploads.resolve())]


def test_set_password_lets_the_default_account_sign_in_by_its_id(console: Console) -> None:
    done = console.server.cli("account", "set-password", "--password", "-", stdin="the default's password\n")
    assert done.returncode == 0, done.stderr
    session = requests.Session()
    token = _login_page(session, console)
    signed = session.post(
        console.url + "/login",
        data={"csrf": token, "account": "000000000000", "password": "the default's password"},
        allow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/console/models"
    short = console.server.cli("account", "set-password", "--password", "-", stdin="x\n")
    assert short.returncode != 0 and short.stderr.startswith("error:")


def test_a_bulk_uploads_archives_stay_until_its_last_model_is_deleted(
    console: Console, worker: Any, tmp_path: Path
) -> None:
    session, csrf = http_session(console, console.alice)
    tag = uuid.uuid4().hex[:6]
    names = [f"bulk-a-{tag}", f"bulk-b-{tag}"]
    archives = [archive_of(write_model(tmp_path / n), tmp_path / f"{n}.tar.gz") for n in names]
    manifest = "name;source\n" + "".join(f"{n};{a.name}\n" for n, a in zip(names, archives, strict=True))
    answer = session.post(
        console.url + "/bulk", data={"csrf": csrf},
        files=[("manifest", ("m.csv", manifest.encode(), "text/csv")),
               *(("archives", (a.name, a.read_bytes(), "application/gzip")) for a in archives)],
        allow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    batch = (
        console.server.data_dir
        / "uploads"
        / console.alice.key.account_id
        / answer.headers["location"].split("/")[-1]
    )
    assert [settled(session, console, n)["status"] for n in names] == ["READY", "READY"]
    results = session.get(console.server.url + answer.headers["location"]).text
    assert "2 of 2 finished" in results
    assert session.post(f"{console.url}/models/{names[0]}/delete", data={"csrf": csrf}).status_code == 200
    assert (batch / "batch" / archives[1].name).is_file()  # the other model still needs its archive
    assert session.post(f"{console.url}/models/{names[1]}/delete", data={"csrf": csrf}).status_code == 200
    assert not batch.exists()


def test_check_shows_every_problem_and_registers_nothing(console: Console, tmp_path: Path) -> None:
    session, csrf = http_session(console, console.alice)
    folder = write_model(tmp_path / "two-wrongs")
    (folder / "model" / "model_metadata.json").unlink()
    (folder / "ip" / "hyperparameters.json").write_text("{not json")
    archive = archive_of(folder, tmp_path / "two-wrongs.tar.gz")
    name = f"checked-{uuid.uuid4().hex[:6]}"
    with archive.open("rb") as data:
        page = session.post(
            console.url + "/import", data={"csrf": csrf, "name": name, "action": "check"},
            files={"archive": (archive.name, data, "application/gzip")},
        )  # fmt: skip
    assert page.status_code == 200
    assert "Not importable" in page.text and "Check of two-wrongs.tar.gz" in page.text
    assert page.text.count('class="problem error"') >= 2  # every problem, not the first
    for words in ("FILE_DOES_NOT_EXIST", "File doesn&#39;t exist", "model/model_metadata.json", "Fix:"):
        assert words in page.text, words
    assert session.get(f"{console.url}/models/{name}").status_code == 404  # nothing registered


def _migration_links(session: requests.Session, console: Console) -> list[str]:
    return re.findall(r'href="/console/migrations/(\d+)"', session.get(console.url + "/migrations").text)


def _start_migration(session: requests.Session, csrf: str, console: Console, role: str) -> requests.Response:
    return session.post(
        console.url + "/migrations",
        data={"csrf": csrf, "role_arn": role, "action": "start"},
        allow_redirects=False,
    )


def test_the_migration_cleanup_and_reset_forms_refuse_a_missing_csrf_token(
    console: Console, seaweed: servers.Seaweed
) -> None:
    session, _csrf = http_session(console, console.bob)
    before = _migration_links(session, console)
    role = seaweed.roles.migration
    for path, data in (
        ("/migrations", {"role_arn": role, "action": "start"}),
        ("/migrations", {"role_arn": role, "action": "plan"}),
        ("/cleanups", {"role_arn": role, "cutoff": "2020-01-01", "apply": "on"}),
        ("/models/anything/reset", {}),
    ):
        for token in ({}, {"csrf": "forged"}):
            answer = session.post(console.url + path, data={**data, **token}, allow_redirects=False)
            assert answer.status_code == 403, path
            assert "CsrfTokenMissing" in answer.text and "nothing was done" in answer.text
    assert _migration_links(session, console) == before  # nothing was started


def test_another_accounts_migration_and_cleanup_answer_404(
    console: Console, seaweed: servers.Seaweed
) -> None:
    alice, alice_csrf = http_session(console, console.alice)
    missing = seaweed.roles.missing
    started = _start_migration(alice, alice_csrf, console, missing)
    assert started.status_code == 303, started.text
    migration = started.headers["location"]
    assert re.fullmatch(r"/console/migrations/\d+", migration)
    cleaned = alice.post(
        console.url + "/cleanups", data={"csrf": alice_csrf, "role_arn": missing, "cutoff": "2020-01-01"},
        allow_redirects=False,
    )  # fmt: skip
    assert cleaned.status_code == 303, cleaned.text
    cleanup = cleaned.headers["location"]
    bob, _ = http_session(console, console.bob)
    for path in (migration, migration + "/progress", cleanup, cleanup + "/progress"):
        assert alice.get(console.server.url + path).status_code == 200, path
        answer = bob.get(console.server.url + path)
        assert answer.status_code == 404, path
        assert "NotFound" in answer.text and console.bob.key.account_id in answer.text
    assert migration.rsplit("/", 1)[1] not in _migration_links(bob, console)
    for path in ("/migrations/99999999999", "/cleanups/0", "/migrations/x"):
        assert bob.get(console.url + path).status_code == 404, path


def test_a_migration_refused_before_it_starts_says_why_beside_the_form(
    console: Console, seaweed: servers.Seaweed
) -> None:
    session, csrf = http_session(console, console.alice)
    for role, words in (("", "give the account&#39;s migration role"), ("not-an-arn", "role_arn")):
        page = session.post(
            console.url + "/migrations", data={"csrf": csrf, "role_arn": role, "action": "plan"}
        )
        assert page.status_code == 400 and words in page.text
        assert 'id="role_arn"' in page.text and "drmodels policy role --migration" in page.text
    role = seaweed.roles.migration_cleanup
    future = session.post(
        console.url + "/cleanups",
        data={"csrf": csrf, "role_arn": role, "cutoff": "2999-01-01", "apply": "on"},
    )
    assert future.status_code == 400
    assert "remove-source-after: the cutoff 2999-01-01 has not come" in future.text


def test_the_bill_page_gives_the_numbers_of_drmodels_bill_json(console: Console) -> None:
    account_id = console.alice.key.account_id
    seed_june_2021(console, account_id)
    session, _ = http_session(console, console.alice)
    page = session.get(console.url + "/bill", params={"month": "2021-06"})
    assert page.status_code == 200
    done = console.server.cli("bill", "--account", account_id, "--month", "2021-06", "--json")
    assert done.returncode == 0, done.stderr
    expected = json.loads(done.stdout)
    assert expected["complete"] and "The month is not over" not in page.text
    shown = {
        category: (Decimal(quantity), Decimal(amount))
        for category, quantity, amount in re.findall(
            r'<tr data-category="([^"]+)">.*?data-quantity="([^"]+)".*?data-amount="([^"]+)"', page.text, re.S
        )
    }
    assert list(shown) == ["service use", "model storage"] == [line["category"] for line in expected["lines"]]
    for line in expected["lines"]:
        quantity, amount = shown[line["category"]]
        assert (quantity, amount) == (Decimal(str(line["quantity"])), Decimal(str(line["amount"])))
    total = re.search(r'id="bill-total" data-amount="([^"]+)"', page.text)
    assert total and Decimal(total[1]) == Decimal(str(expected["total"])) > 0
    assert shown["service use"][0] == Decimal("1.5")  # the migration's 1 h 30 min
    points = re.search(r'<svg[^>]*id="chart-storage".*?<polyline[^>]*points="([^"]+)"', page.text, re.S)
    assert points and len(points[1].split()) == len(expected["daily_storage"]) == 30
    bob, _ = http_session(console, console.bob)
    theirs = bob.get(console.url + "/bill", params={"month": "2021-06"}).text
    assert re.search(r'id="bill-total" data-amount="0.00"', theirs)  # another account's usage is not theirs
    now = session.get(console.url + "/bill")  # the current month: the bill so far
    assert now.status_code == 200 and "The month is not over" in now.text


def test_a_bad_month_is_a_400_page(console: Console) -> None:
    session, _ = http_session(console, console.alice)
    for month in ("June", "2021-13", "0000-01", "9999-12", "2021-6"):
        page = session.get(console.url + "/bill", params={"month": month})
        assert page.status_code == 400, month
        assert "InvalidRequest" in page.text and "month" in page.text and "Traceback" not in page.text


def test_reset_permissions_is_offered_only_for_the_codes_it_repairs_and_a_refusal_is_a_page(
    console: Console, worker: Any, seaweed: servers.Seaweed, s3_admin: Any, tmp_path: Path
) -> None:
    session, csrf = http_session(console, console.alice)
    folder = write_model(tmp_path / "no-reward")
    (folder / "reward_function.py").unlink()
    prefix = f"{uuid.uuid4().hex[:8]}/no-reward"
    servers.upload_tree(s3_admin, folder, console.bucket, prefix)
    name = f"noreward-{uuid.uuid4().hex[:6]}"
    started = import_s3(session, csrf, console, name, f"s3://{console.bucket}/{prefix}", seaweed.roles.read)
    assert started.status_code == 303, started.text
    failed = settled(session, console, name)
    assert (failed["status"], failed["error_code"]) == ("IMPORT_ERROR", "FILE_DOES_NOT_EXIST")
    page = session.get(f"{console.url}/models/{name}").text
    assert ">Update</button>" in page and "Reset permissions and retry" not in page
    refused = session.post(f"{console.url}/models/{name}/reset", data={"csrf": csrf})
    assert refused.status_code == 409 and "Conflict" in refused.text
    assert "repairs ACCESS_DENIED_TO_BUCKET and ACCOUNT_RESOURCE_DOES_NOT_EXIST" in refused.text
    assert "failed with FILE_DOES_NOT_EXIST" in refused.text
    assert session.get(console.url + "/statuses", params={"name": name}).json()["models"][0]["status"] == (
        "IMPORT_ERROR"
    )  # nothing was retried


def test_a_second_migration_with_another_role_while_one_runs_is_the_services_conflict(
    console: Console, seaweed: servers.Seaweed
) -> None:
    from drmodels.clock import utcnow
    from drmodels.registry import account_jobs
    from drmodels.registry.db import Registry, default_url
    from drmodels.service.jobs import worker_id

    console.pool.stop_all()  # no worker: the migration stays QUEUED until this test holds it
    account = make_account(console.server, f"mover-{uuid.uuid4().hex[:6]}")
    session, csrf = http_session(console, account)
    first = _start_migration(session, csrf, console, seaweed.roles.missing)
    job_id = int(first.headers["location"].rsplit("/", 1)[1])
    registry = Registry(default_url(console.server.data_dir), migrate=False)
    holder = worker_id()  # this live process holds it, as a worker running it would
    try:
        assert account_jobs.claim(registry, job_id, holder, utcnow(), lambda _job: False) is not None
        again = _start_migration(session, csrf, console, seaweed.roles.read)
        assert again.status_code == 409 and "Conflict" in again.text
        assert f"migration {job_id} of account {account.key.account_id} is running with role" in again.text
        same = _start_migration(session, csrf, console, seaweed.roles.missing)
        assert (
            same.headers["location"] == first.headers["location"]
        )  # the same role: that migration, followed
    finally:
        account_jobs.finish(registry, job_id, holder, None, utcnow(), error=("TEST", "ended by the test"))
        registry.close()
