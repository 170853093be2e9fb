"""The language-model toolkit (``pip install kgalign[lm]``): the shared fine-tuning engine and
cross-lingual fact probing, which use entity alignments to study and change what multilingual
language models know. May import the aligner, :mod:`kgalign.io` and the base modules; the
aligner never imports it.
"""
