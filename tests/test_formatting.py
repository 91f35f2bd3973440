"""One size format for the CLI and the web pages (SI units)."""

from __future__ import annotations

from neurodatashare.formatting import human_size


def test_sizes_are_si() -> None:
    assert human_size(0) == "0 B"
    assert human_size(999) == "999 B"
    assert human_size(2500) == "2.5 kB"
    assert human_size(176_400_000) == "176.4 MB"
    assert human_size(704_608_880) == "704.6 MB"
    assert human_size(3.2e12) == "3.2 TB"
    assert human_size(5e15) == "5.0 PB"


def test_cli_and_web_use_the_same_function() -> None:
    from neurodatashare.cli import cmd_ls, cmd_rm
    from neurodatashare.web import views

    assert views.human_size is cmd_ls.human_size is cmd_rm.human_size is human_size
