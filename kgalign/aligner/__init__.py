"""The aligner: labels -> translation -> encoding -> multi-view similarity -> 1-to-1 matching.

Owns translation, encoding and its cache, the similarity views, self-training, abstention and
:func:`~kgalign.aligner.pipeline.align`, the orchestrator over these stages. May import
:mod:`kgalign.io`, :mod:`kgalign.matching` and the base modules; never the evaluation,
language-model or CLI packages.
"""
