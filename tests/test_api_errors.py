"""Bad requests get a clear 4xx with a JSON message, never a 500 or a traceback."""

from __future__ import annotations

from neurodatashare.testing.live import Live


def test_malformed_json(live: Live) -> None:
    alice = live.user("alice")
    r = alice.post(
        "/api/dandisets/", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]
    r = alice.post(
        "/api/dandisets/", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    r = alice.post("/api/dandisets/", json=["a", "list"])
    assert r.status_code == 400 and "JSON object" in r.json()["detail"]
    r = alice.post("/api/uploads/initialize/")
    assert r.status_code == 400


def test_oversized_json(live: Live) -> None:
    alice = live.user("alice")
    big = {"name": "x", "metadata": {"description": "y" * 100_000}}
    r = alice.post("/api/dandisets/", json=big)
    assert r.status_code == 413 and "larger than" in r.json()["detail"]

    def chunks():  # no Content-Length: the limit still holds while streaming
        for _ in range(100):
            yield b" " * 1024

    r = alice.post(
        "/api/dandisets/", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413


def test_wrong_query_types(live: Live) -> None:
    anon = live.anonymous()
    r = anon.get("/api/dandisets/", params={"page": "first"})
    assert r.status_code == 400 and "page" in r.json()["detail"]
    r = anon.get("/api/dandisets/", params={"ordering": "popularity"})
    assert r.status_code == 400 and "ordering" in r.json()["detail"]


def test_wrong_method(live: Live) -> None:
    r = live.anonymous().http.patch("/api/dandisets/")
    assert r.status_code == 405 and "PATCH" in r.json()["detail"]


def test_errors_never_leak_tracebacks(live: Live) -> None:
    alice = live.user("alice")
    responses = [
        alice.post("/api/dandisets/", json={"name": {"nested": 1}}),
        alice.post("/api/uploads/initialize/", json={"contentSize": 1e30, "digest": None}),
        alice.get("/api/assets/%00/"),
        alice.get("/api/dandisets/000001/versions/draft/assets/", params={"glob": "[["}),
    ]
    for r in responses:
        assert 400 <= r.status_code < 500, r.text
        assert "Traceback" not in r.text


def test_a_transaction_conflict_left_over_is_a_503_to_retry() -> None:
    """When PostgreSQL aborts a request's transaction to break a deadlock (and the retries in
    Database.transact are spent, or the route has none), the caller is told to try again:
    a 503 with Retry-After, which the dandi client and ours retry, not a 500."""
    import psycopg
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import OperationalError

    from neurodatashare.server.errors import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/conflict")
    def conflict() -> None:
        raise OperationalError("UPDATE ...", {}, psycopg.errors.DeadlockDetected("deadlock"))

    @app.get("/other")
    def other() -> None:
        raise OperationalError("UPDATE ...", {}, psycopg.errors.DiskFull("disk full"))

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/conflict")
        assert r.status_code == 503 and r.headers["Retry-After"] == "1", r.text
        assert "nothing was changed" in r.json()["detail"]
        assert client.get("/other").status_code == 500  # only conflicts are retryable
