"""The search page (/search) over real uploaded NWB files, on both backends: results with
their matching files, facet counts, highlights, URL state, pagination, escaping, access
rules and bad parameters. The service behind it is archive/search.py."""

from __future__ import annotations

import html as htmlmod
import re
from pathlib import Path

import httpx
import pytest
from markupsafe import escape

from neurodatashare.testing.factories import Caller, publishable_metadata
from neurodatashare.testing.live import Live
from neurodatashare.testing.nwbfiles import (
    add_ecephys,
    add_units,
    make_ephys_file,
    make_nwbfile,
    make_ophys_file,
    make_subject,
    write_nwbfile,
)
from neurodatashare.web.search_pages import highlighted

MOUSE_EPHYS = "sub-mouse001/sub-mouse001_ses-1_ecephys.nwb"
MOUSE_OPHYS = "sub-mouse001/sub-mouse001_ses-2_ophys.nwb"
RAT_EPHYS = "sub-rat01/sub-rat01_ses-1_ecephys.nwb"


@pytest.fixture(scope="module")
def nwb(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Three small real NWB files: mouse ephys (12 units, CA1 + VISp), mouse ophys, rat ephys."""
    folder = tmp_path_factory.mktemp("search-nwb")
    ephys = make_ephys_file(folder / "ephys.nwb", n_units=12, locations=("CA1", "VISp"))
    ophys = make_ophys_file(folder / "ophys.nwb", n_rois=4, n_frames=20, with_behavior=False)
    rat = make_nwbfile(
        identifier="nds-test-rat",
        subject=make_subject(subject_id="rat01", species="Rattus norvegicus"),
    )
    add_ecephys(rat, n_channels=4, locations=("DG",), duration_s=0.2)
    add_units(rat, n_units=3, duration_s=0.2)
    return {
        MOUSE_EPHYS: Path(ephys).read_bytes(),
        MOUSE_OPHYS: Path(ophys).read_bytes(),
        RAT_EPHYS: Path(write_nwbfile(rat, folder / "rat.nwb")).read_bytes(),
    }


def dataset(
    caller: Caller, name: str, files: dict[str, bytes], **kw: object
) -> tuple[str, dict[str, str]]:
    """A dataset with `files` uploaded, once the archive has read them: (id, path -> asset id)."""
    metadata = publishable_metadata(**kw.pop("metadata", {}))  # type: ignore[arg-type]
    ds = caller.create_dataset(name, metadata=metadata, **kw)  # type: ignore[arg-type]
    ids = {path: caller.add_file(ds, path, data)["asset_id"] for path, data in files.items()}
    caller.wait_for_status(ds)
    return ds, ids


def search(client: httpx.Client | None, live: Live, **params: object) -> httpx.Response:
    http = client or httpx.Client(base_url=live.url)
    try:
        return http.get("/search", params=params)  # type: ignore[arg-type]
    finally:
        if client is None:
            http.close()


def unmarked(page: str) -> str:
    """The page without the <mark> tags of highlighted matches."""
    return re.sub(r"</?mark>", "", page)


def hits(page: str) -> list[str]:
    """The dataset ids of the page's results, in order."""
    return re.findall(r'<li class="card hit" data-dataset="(\d{6})"', page)


def facet_count(page: str, facet: str, value: str) -> int | None:
    """The count next to a facet value's checkbox, or None if the value is not offered."""
    block = re.search(rf'data-facet="{facet}">(.*?)</fieldset>', page, re.S)
    if not block:
        return None
    found = re.search(
        rf'value="{re.escape(htmlmod.escape(value))}"[^>]*>.*?<span class="count">(\d+)</span>',
        block.group(1),
        re.S | re.I,
    )
    return int(found.group(1)) if found else None


def checked(page: str, facet: str, value: str) -> bool:
    tag = re.search(
        rf'<input type="checkbox" name="{facet}" value="{re.escape(htmlmod.escape(value))}"[^>]*>',
        page,
        re.I,
    )
    return bool(tag) and " checked" in tag.group(0)  # type: ignore[union-attr]


def test_results_facets_highlights_files_and_url_state(live: Live, nwb: dict[str, bytes]) -> None:
    alice = live.user("alice")
    place, ids = dataset(
        alice,
        "Hippocampal place cells",
        {MOUSE_EPHYS: nwb[MOUSE_EPHYS]},
        metadata={"description": "Neuropixels recordings of place cells while mice run a track."},
    )
    imaging, _ = dataset(alice, "Visual cortex imaging", {MOUSE_OPHYS: nwb[MOUSE_OPHYS]})
    rats, _ = dataset(alice, "Dentate gyrus in rats", {RAT_EPHYS: nwb[RAT_EPHYS]})

    # everything, with a facet count per species
    everything = search(None, live)
    assert everything.status_code == 200, everything.text
    page = everything.text
    assert set(hits(page)) == {place, imaging, rats}
    assert "<strong>3</strong> datasets" in page
    assert facet_count(page, "species", "Mus musculus") == 2
    assert facet_count(page, "species", "Rattus norvegicus") == 1
    assert facet_count(page, "access", "open") == 3
    assert facet_count(page, "licence", "spdx:CC-BY-4.0") == 3
    assert "CC BY 4.0" in page
    for facet in ("modality", "format"):
        assert f'data-facet="{facet}"' in page, facet

    # words: the dataset's name highlighted, its matching file listed with a link to it
    r = search(None, live, q="place")
    assert r.status_code == 200
    page = r.text
    assert hits(page) == [place]
    assert re.search(
        r"<h2><a [^>]*><mark>[Pp]lace</mark> cells|Hippocampal <mark>place</mark>", page
    ), page
    assert 'value="place"' in page  # the header box keeps the words
    # a file's own content: the region is inside the NWB file, not in the dataset metadata
    r = search(None, live, q="CA1")
    page = r.text
    assert place in hits(page) and imaging not in hits(page)
    link = f'href="/asset/{ids[MOUSE_EPHYS]}?dataset={place}&amp;version=draft"'
    assert link in page and MOUSE_EPHYS in page
    assert "matching file" in page and "CA1" in page
    explorer = httpx.get(
        f"{live.url}/asset/{ids[MOUSE_EPHYS]}", params={"dataset": place, "version": "draft"}
    )
    assert explorer.status_code == 200 and MOUSE_EPHYS.rsplit("/", 1)[1] in explorer.text

    # a facet and a range from the URL: ticked, filled in, listed as removable chips
    r = search(None, live, species="Mus musculus", units_min="5")
    assert r.status_code == 200
    page = r.text
    assert hits(page) == [place]  # ophys has no units; the rat has 3
    assert checked(page, "species", "Mus musculus")
    assert not checked(page, "species", "Rattus norvegicus")
    assert 'name="units_min" value="5"' in page and 'name="units_max" value=""' in page
    assert 'href="/search?species=Mus+musculus"' in page  # the chip removing units >= 5
    assert 'href="/search?units_min=5"' in page  # the chip removing the species
    # case-insensitive values tick the same box; an empty range box is no range
    r = search(None, live, species="mus musculus", units_max="")
    assert r.status_code == 200 and set(hits(r.text)) == {place, imaging}
    assert checked(r.text, "species", "Mus musculus")

    # linked kinds: the API's comma form ticks one box per kind
    r = search(None, live, linked="morphology,transcriptomics")
    assert r.status_code == 200, r.text
    assert checked(r.text, "linked", "morphology") and checked(r.text, "linked", "transcriptomics")
    assert not checked(r.text, "linked", "icephys")
    assert hits(r.text) == []  # no cell here has both

    # nothing found: say so and suggest removing filters
    r = search(None, live, q="zebrafish", species="Mus musculus")
    assert r.status_code == 200 and hits(r.text) == []
    assert "No datasets match" in r.text and "removing a filter" in r.text
    assert 'href="/search?q=zebrafish"' in r.text  # clear all filters keeps the words


def test_pagination_links_keep_the_query(live: Live) -> None:
    alice = live.user("alice")
    made = [alice.create_dataset(f"Pagination survey {i}") for i in range(5)]
    first = search(None, live, q="pagination", page_size=2, ordering="id")
    assert first.status_code == 200, first.text
    page = first.text
    assert hits(page) == made[:2]
    assert "<strong>5</strong> datasets" in page and "showing 1\u20132" in page
    assert "Page 1 of 3" in page and 'rel="prev"' not in page
    nxt = re.search(r'<a rel="next" href="([^"]+)"', page)
    assert nxt, page
    target = htmlmod.unescape(nxt.group(1))
    assert target.startswith("/search?") and "q=pagination" in target and "page=2" in target
    assert "page_size=2" in target and "ordering=id" in target
    second = httpx.get(f"{live.url}{target}").text
    assert hits(second) == made[2:4] and "Page 2 of 3" in second
    prev = re.search(r'<a rel="prev" href="([^"]+)"', second)
    assert prev and "page=" not in prev.group(1)  # page 1 is the plain URL
    last = search(None, live, q="pagination", page_size=2, ordering="id", page=3).text
    assert hits(last) == made[4:] and 'rel="next"' not in last
    # the form keeps page_size and sorts by the chosen order; it starts again at page 1
    assert '<input type="hidden" name="page_size" value="2">' in last
    assert '<option value="id" selected>' in last
    assert 'name="page"' not in last


def test_html_in_metadata_is_shown_as_text(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset(
        "<script>alert(1)</script> mouse study",
        metadata=publishable_metadata(description='Mouse <img src=x onerror="alert(2)"> data'),
    )
    for params in ({"q": "mouse"}, {}, {"q": "study"}):
        page = unmarked(search(None, live, **params).text)
        assert hits(page) == [ds], params
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # the words are echoed escaped too
    page = unmarked(search(None, live, q='"><script>alert(3)</script>').text)
    assert "<script>alert(3)</script>" not in page and "&lt;script&gt;alert(3)" in page


def test_highlight_filter_trusts_only_mark_tags() -> None:
    assert highlighted("a <mark>mouse</mark> &lt;b&gt;") == "a <mark>mouse</mark> &lt;b&gt;"
    assert highlighted('<mark>x</mark><img src=x onerror="1">') == (
        "x&lt;img src=x onerror=&#34;1&#34;&gt;"
    )
    assert highlighted(None) == ""


def test_private_data_never_shows_to_others(live: Live, nwb: dict[str, bytes]) -> None:
    alice = live.user("alice", password="alice-password")
    bob = live.user("bob", password="bob-password")
    mine, _ = dataset(alice, "Open mouse recordings", {MOUSE_EPHYS: nwb[MOUSE_EPHYS]})
    secret, _ = dataset(
        bob,
        "Secret rat recordings",
        {RAT_EPHYS: nwb[RAT_EPHYS]},
        metadata={"license": ["spdx:CC0-1.0"]},
        access="private",
    )
    with httpx.Client(base_url=live.url) as anon, httpx.Client(base_url=live.url) as web:
        assert (
            web.post("/login", data={"username": "alice", "password": "alice-password"}).status_code
            == 303
        )
        for who in (anon, web):
            for params in (
                {},
                {"q": "secret"},
                {"q": "rat"},
                {"species": "Rattus norvegicus"},
                {"access": "private"},
                {"licence": "spdx:CC0-1.0"},
            ):
                r = search(who, live, **params)
                assert r.status_code == 200, r.text
                assert secret not in hits(r.text) and "Secret rat" not in unmarked(r.text), params
            page = search(who, live).text
            assert hits(page) == [mine] and "<strong>1</strong> dataset" in page
            assert facet_count(page, "species", "Rattus norvegicus") is None
            assert facet_count(page, "species", "Mus musculus") == 1
            assert facet_count(page, "access", "private") is None
            assert facet_count(page, "licence", "spdx:CC0-1.0") is None
            assert "CC0" not in page and facet_count(page, "region", "DG") is None
    with httpx.Client(base_url=live.url) as owner:
        assert (
            owner.post("/login", data={"username": "bob", "password": "bob-password"}).status_code
            == 303
        )
        page = search(owner, live, q="secret").text
        assert hits(page) == [secret] and 'class="badge private"' in page
        page = search(owner, live).text
        assert facet_count(page, "species", "Rattus norvegicus") == 1
        assert facet_count(page, "access", "private") == 1


@pytest.mark.parametrize(
    "params",
    [
        {"units_min": "-3"},
        {"rois_max": "many"},
        {"ordering": "bogus"},
        {"page_size": "1000"},
        {"q": "mouse " * 100},
    ],
)
def test_bad_parameters_give_a_400_page_with_the_message(
    live: Live, params: dict[str, str]
) -> None:
    page = search(None, live, **params)
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    api = httpx.get(f"{live.url}/api/search/", params=params)
    assert api.status_code == 400
    message = api.json()["detail"]
    assert 'role="alert"' in page.text and str(escape(message)) in page.text
    assert 'action="/search"' in page.text  # the page still offers a new search


def test_home_page_has_one_search_box_and_old_links_redirect(live: Live) -> None:
    alice = live.user("alice")
    alice.create_dataset("Visual cortex survey")
    home = httpx.get(f"{live.url}/").text
    assert home.count('type="search"') == 1 and 'action="/search"' in home
    r = httpx.get(f"{live.url}/", params={"q": "cortex survey"})
    assert r.status_code == 302 and r.headers["location"] == "/search?q=cortex+survey"
    found = httpx.get(f"{live.url}/", params={"q": "cortex"}, follow_redirects=True)
    assert found.url.path == "/search" and "Visual cortex survey" in unmarked(found.text)
