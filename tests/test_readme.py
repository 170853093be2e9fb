"""Every Python block of README.md runs (issue 14, item 7).

Blocks run in file order, one namespace per section, offline, in a temporary folder. A block
that names shared data (``../shared/datasets/dbp15k/zh_en``) gets a tiny pair cut from that
data instead (40 gold links), so that it runs in seconds; a block whose first line is
``# needs: ...`` (a hub model, a Ray cluster) is skipped. The fine-tuning section's blocks run in
``tests/test_finetune.py::test_docs_examples_run`` (one namespace for the whole section).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import DATASETS, REPO, need

README = REPO / "README.md"
SHARED_ZH_EN = "../shared/datasets/dbp15k/zh_en"


def sections() -> list[tuple[str, list[str]]]:
    text = README.read_text(encoding="utf-8")
    out = []
    for part in re.split(r"\n(?=## )", text):
        title = part.splitlines()[0] if part.strip() else ""
        blocks = re.findall(r"```python\n(.*?)```", part, flags=re.S)
        if blocks:
            out.append((title, blocks))
    return out


def tiny_zh_en(dst: Path, n_links: int = 40) -> Path:
    """A DBP15K-format pair with the first ``n_links`` gold links of zh_en and their triples."""
    src = need(DATASETS / "dbp15k" / "zh_en")
    dst.mkdir()
    links = [tuple(map(int, line.split())) for line in (src / "ref_ent_ids").read_text().splitlines()[:n_links]]
    keep = [{a for a, _ in links}, {b for _, b in links}]
    for k in (1, 2):
        ents = {}
        for line in (src / f"ent_ids_{k}").read_text(encoding="utf-8").splitlines():
            i, iri = line.split("\t", 1)
            if int(i) in keep[k - 1]:
                ents[int(i)] = iri
        (dst / f"ent_ids_{k}").write_text("".join(f"{i}\t{iri}\n" for i, iri in ents.items()), encoding="utf-8")
        rows = [
            line
            for line in (src / f"triples_{k}").read_text().splitlines()
            if {int(line.split()[0]), int(line.split()[2])} <= keep[k - 1]
        ]
        (dst / f"triples_{k}").write_text("".join(r + "\n" for r in rows))
    (dst / "ref_ent_ids").write_text("".join(f"{a}\t{b}\n" for a, b in links))
    names = json.loads((src / "translated_names.json").read_text(encoding="utf-8"))
    (dst / "translated_names.json").write_text(
        json.dumps([x for x in names if x[0] in keep[0]], ensure_ascii=False), encoding="utf-8"
    )
    return dst


def test_readme_has_python_blocks_outside_the_finetuning_section():
    titles = [t for t, _ in sections()]
    assert any("Python API" in t for t in titles)
    assert any("Fine-tuning" in t for t in titles)


@pytest.mark.parametrize("title", [t for t, _ in sections() if "Fine-tuning" not in t])
def test_readme_python_blocks_run(title, tmp_path, monkeypatch):
    blocks = dict(sections())[title]
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": "__readme__"}
    ran = 0
    for block in blocks:
        if block.lstrip().startswith("# needs:"):
            continue
        if SHARED_ZH_EN in block:
            block = block.replace(SHARED_ZH_EN, str(tiny_zh_en(tmp_path / f"zh_en_{ran}")))
        exec(compile(block, f"{README}:{title}", "exec"), ns)
        ran += 1
    if not ran:
        pytest.skip(f"every block of {title!r} needs what tests do not have (see its '# needs:' line)")
    if "Python API" in title:  # what the snippet claims
        rows, cols = ns["rows"], ns["cols"]
        assert len(rows) == len(cols) == len(set(cols.tolist()))
        assert ns["S"].shape == (2000, 2000)
        assert ns["res"].gap <= 2000 * ns["res"].epsilon


def test_finetuning_blocks_are_run_by_their_own_test():
    src = (REPO / "tests" / "test_finetune.py").read_text(encoding="utf-8")
    assert "def test_docs_examples_run" in src and "## Fine-tuning engine" in src
