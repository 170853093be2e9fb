"""`kgalign align --config FILE --save-dir DIR`: one configuration, validated before loading; the
resolved choices printed and saved."""

from __future__ import annotations

import json

from conftest import CASES, need

from kgalign.cli import main


def run_cli(args, capsys):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_save_dir_records_the_resolved_run(tmp_path, capsys):
    case = need(CASES / "dbp15k_sparse_ids")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("threshold: -1.0\nmatching: {method: dense}\n")
    save = tmp_path / "run"
    code, out, err = run_cli(
        ["align", str(case), "-q", "--config", str(cfg), "--translator", "identity", "--save-dir", str(save)], capsys
    )
    assert code == 0, err
    resolved = next(line for line in out.splitlines() if line.startswith("resolved:"))
    meta = json.loads((save / "metadata.json").read_text())
    ch = meta["resolved"]
    assert f"translator {ch['translator1']}" in resolved and f"device {ch['device']}" in resolved
    assert f"encoder {ch['encoder']}" in resolved
    saved = json.loads((save / "config.json").read_text())
    assert saved["threshold"] == -1.0 and saved["matching"]["method"] == "dense"  # from the file
    assert saved["translator"] == "identity" and saved["device"] == ch["device"]  # option / resolved
    assert saved["encoder"] == ch["encoder"]
    # a second run refuses the non-empty directory before any work
    code, _, err = run_cli(["align", str(case), "-q", "--save-dir", str(save)], capsys)
    assert code == 2 and "--force" in err


def test_config_file_errors_name_file_and_line_before_loading(tmp_path, capsys, monkeypatch):
    import kgalign.io as io_mod

    monkeypatch.setattr(io_mod, "load_pair", lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded")))
    case = need(CASES / "dbp15k_sparse_ids")
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("threshold: 0.1\nselftrain:\n  rounds: 2\n  margn: 0.1\n")
    code, _, err = run_cli(["align", str(case), "--config", str(cfg)], capsys)
    assert code == 2
    assert "bad.yaml:4:" in err and "'selftrain.margn'" in err and "known in 'selftrain'" in err
