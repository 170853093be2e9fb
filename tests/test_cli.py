"""The `kgalign` command line: align, demo, error handling and exit status."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import CASES, DATASETS, need
from kgalign.cli import main


def run_cli(args, capsys):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_lists_the_commands(capsys):
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0
    for cmd in ("align", "demo"):
        assert cmd in out


def test_empty_graph_is_an_error_before_any_model_loads(tmp_path, capsys, monkeypatch):
    import kgalign.encode as enc_mod

    monkeypatch.setattr(enc_mod, "Encoder", lambda *a, **k: (_ for _ in ()).throw(AssertionError("model loaded")))
    case = need(CASES / "empty_kg.ttl")
    code, _, err = run_cli(["align", str(case), str(case), "-o", str(tmp_path / "o.tsv")], capsys)
    assert code == 2
    assert "no entities found" in err and "empty_kg.ttl" in err
    assert not (tmp_path / "o.tsv").exists()


def test_existing_output_is_kept_without_force(tmp_path, capsys):
    out = tmp_path / "links.tsv"
    out.write_text("keep me\n")
    en = need(DATASETS / "silknow" / "silknow_en.ttl")
    code, _, err = run_cli(["align", str(en), str(en), "-o", str(out)], capsys)
    assert code == 2 and "--force" in err
    assert out.read_text() == "keep me\n"


def test_bad_input_line_reported_with_nonzero_exit(tmp_path):
    case = need(CASES / "nt_missing_dot.nt")
    proc = subprocess.run([sys.executable, "-m", "kgalign", "align", str(case), str(case), "-o", str(tmp_path / "x.tsv")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "nt_missing_dot.nt:2" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_prints_precision_recall_f1(capsys):
    code, out, _ = run_cli(["demo", "-q"], capsys)
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("gold links"))
    vals = {k: float(v) for k, v in zip(["precision", "recall", "F1"], [line.split(k)[1].split()[0] for k in ["precision", "recall", "F1"]])}
    assert all(0.0 <= v <= 1.0 for v in vals.values())
    # names alone get a clear majority of the 666 concepts right even with an English encoder
    assert vals["F1"] > 0.5
