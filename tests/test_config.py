"""kgalign.config: one typed configuration, validated once; files, keyword arguments, round trips."""

from __future__ import annotations

import dataclasses
import json

import pytest

from kgalign.config import (
    AbstainConfig,
    AlignConfig,
    MatchingConfig,
    SelftrainConfig,
    SimilarityConfig,
    load_config,
)
from kgalign.errors import InputError


def test_round_trip_through_plain_data_and_json():
    for cfg in (
        AlignConfig(),
        AlignConfig.build(
            {
                "threshold": 0.25,
                "abstain": {"min_score": None},
                "similarity": {"structure": [0.5], "string_ngrams": [2, 4]},
                "selftrain": {"hop_weights": [1, 0.5]},
            },
            lang1="de",
        ),
    ):
        data = json.loads(json.dumps(cfg.to_dict()))
        assert AlignConfig.from_dict(data) == cfg
        assert AlignConfig.from_dict(data).to_dict() == data


def test_sections_merge_with_defaults_and_values_are_normalised():
    cfg = AlignConfig.build({"similarity": {"names": 2, "structure": [1, 2]}})
    assert cfg.similarity.names == 2.0 and isinstance(cfg.similarity.names, float)
    assert cfg.similarity.structure == (1.0, 2.0)
    default = SimilarityConfig()
    untouched = {f.name for f in dataclasses.fields(SimilarityConfig)} - {"names", "structure"}
    assert all(getattr(cfg.similarity, k) == getattr(default, k) for k in untouched)
    # a later override merges into the current section, not into the defaults
    again = cfg.replace(similarity={"strings": 0.0})
    assert again.similarity.names == 2.0 and again.similarity.strings == 0.0
    assert AlignConfig.build(None, seed=None, threshold=None) == AlignConfig()  # None: not given


def test_objects_are_frozen_and_checked_however_they_are_made():
    cfg = AlignConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.threshold = 0.5
    with pytest.raises(InputError, match="'selftrain.rounds'"):
        SelftrainConfig(rounds=-1)
    with pytest.raises(InputError, match="'matching.method'"):
        MatchingConfig(method="hungarian")
    assert AlignConfig(abstain="auto").abstain == AbstainConfig()
    assert AlignConfig(similarity={"csls": 5}).similarity.csls == 5


@pytest.mark.parametrize(
    "data,needle",
    [
        ({"tresh": 0.3}, "'tresh'; known: abstain, batch_size"),
        ({"similarity": {"bogus": 1}}, "'similarity.bogus'; known in 'similarity': attributes, center"),
        ({"selftrain": {"round": 1}}, "'selftrain.round'"),
        ({"matching": {"k": 1}}, "'matching.k'"),
        ({"abstain": {"min_scor": 0.3}}, "'abstain.min_scor'"),
        ({"similarity": {"structure": [1, "x"]}}, "'similarity.structure' must be a list of weights"),
        ({"similarity": {"string_ngrams": [3, 1]}}, "'similarity.string_ngrams'"),
        ({"abstain": {"degree_ratio": -1}}, "'abstain.degree_ratio'"),
        ({"batch_size": 0}, "'batch_size' must be a positive integer"),
        ({"show_progress": "yes"}, "'show_progress' must be true or false"),
        ({"threshold": float("inf")}, "'threshold'"),
        ({"similarity": [1]}, "'similarity' must be a mapping"),
        ({"similarity": False}, "'similarity' must be a mapping"),  # no `enabled` there
        ({"schema": {"min_score": "high"}}, "'schema.min_score'"),
    ],
)
def test_bad_keys_and_values_name_their_path(data, needle):
    with pytest.raises(InputError) as exc:
        AlignConfig.build(data)
    assert needle in str(exc.value)


def test_yaml_file_errors_name_the_file_and_the_line(tmp_path):
    f = tmp_path / "run.yaml"
    lines = ["threshold: 0.2", "similarity:", "  names: 1.0", "  structure: [1.0, oops]", "selftrain: {rounds: 2}"]
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as exc:
        load_config(f)
    line = next(i for i, text in enumerate(lines, start=1) if "structure" in text)
    assert exc.value.path == str(f) and exc.value.line == line
    assert str(exc.value).startswith(f"run.yaml:{line}: configuration 'similarity.structure'")
    f.write_text("threshold: 0.2\nsimilarity: {names: [\n")
    with pytest.raises(InputError, match="cannot parse") as exc:
        load_config(f)
    assert exc.value.line is not None
    with pytest.raises(InputError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_file_keyword_arguments_and_defaults_agree(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"threshold": 0.2, "matching": {"topk": 7}, "seed": None}))
    from_file = load_config(f)
    from_kwargs = AlignConfig.build(threshold=0.2, matching={"topk": 7})
    assert from_file == from_kwargs
    assert from_file.seed == AlignConfig().seed
    (tmp_path / "empty.yaml").write_text("")
    assert load_config(tmp_path / "empty.yaml") == AlignConfig()


def test_a_boolean_switches_a_section_that_has_enabled():
    assert AlignConfig.build({"schema": False}).schema.enabled is False
    assert AlignConfig.build({"selftrain": False}).selftrain.enabled is False
    cfg = AlignConfig.build({"schema": {"min_score": 0.5}})
    assert cfg.replace(schema=False).schema.min_score == 0.5  # merges: only `enabled` changes


def test_yaml_numbers_in_exponent_notation_are_numbers(tmp_path):
    # PyYAML follows YAML 1.1, which reads 1e6 as a string; YAML 1.2 and users read a number
    f = tmp_path / "run.yaml"
    f.write_text("similarity:\n  sparse_above: 1e6\nschema:\n  min_score: 4E-1\nmatching:\n  dense_work: 2.5e-1\n")
    cfg = load_config(f)
    assert cfg.similarity.sparse_above == 1_000_000 and isinstance(cfg.similarity.sparse_above, int)
    assert cfg.schema.min_score == 0.4 and cfg.matching.dense_work == 0.25
    # an integer setting still refuses a fraction, and a quoted "1e6" stays a string
    f.write_text("similarity:\n  sparse_above: 1.5e0\n")
    with pytest.raises(InputError, match="sparse_above"):
        load_config(f)
    f.write_text('similarity:\n  sparse_above: "1e6"\n')
    with pytest.raises(InputError, match="sparse_above"):
        load_config(f)
