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
