"""Logging set-up: kgalign -v/-q drive the kgalign logger and the progress bars."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from kgalign.logs import configure_logging, progress_enabled


@pytest.fixture(autouse=True)
def _restore_logger():
    logger = logging.getLogger("kgalign")
    saved = (logger.level, list(logger.handlers), logger.propagate)
    yield
    logger.setLevel(saved[0])
    logger.handlers[:] = saved[1]
    logger.propagate = saved[2]


@pytest.mark.parametrize(
    "verbosity, level, bars",
    [(-1, logging.WARNING, False), (0, logging.INFO, True), (1, logging.DEBUG, True), (3, logging.DEBUG, True)],
)
def test_verbosity_sets_level_and_progress(verbosity, level, bars):
    assert configure_logging(verbosity) == level
    assert logging.getLogger("kgalign").level == level
    assert progress_enabled() is bars
    # a module logger (getLogger(__name__)) inherits the package level
    assert logging.getLogger("kgalign.aligner.pipeline").isEnabledFor(logging.INFO) is bars


def test_handler_added_once(capsys):
    configure_logging(0)
    configure_logging(0)
    logging.getLogger("kgalign.io.rdf").info("hello from a module")
    err = capsys.readouterr().err
    assert err.count("hello from a module") == 1
    assert "kgalign.io.rdf" in err


def test_cli_quiet_and_verbose_flags():
    from kgalign.cli import cli

    runner = CliRunner()
    for args, level in (
        (["-q", "evaluate", "--help"], logging.WARNING),
        (["-v", "evaluate", "--help"], logging.DEBUG),
        (["evaluate", "--help"], logging.INFO),
    ):
        res = runner.invoke(cli, args)
        assert res.exit_code == 0, res.output
        assert logging.getLogger("kgalign").level == level


def test_global_quiet_turns_progress_off_in_align_options():
    from kgalign.cli.align import _options_dict

    configure_logging(-1)
    assert _options_dict(None, None, None, None, None, False)["show_progress"] is False
    configure_logging(0)
    assert _options_dict(None, None, None, None, None, False)["show_progress"] is None  # the config decides
    assert _options_dict(None, None, None, None, None, True)["show_progress"] is False
