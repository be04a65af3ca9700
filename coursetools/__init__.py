"""The course's own tooling (not part of the learners' package ``recsys_utils``).

* :mod:`coursetools.notebooks`: clean notebooks, write one edition per framework;
* :mod:`coursetools.lint`: static checks of a chapter's dual-framework structure;
* :mod:`coursetools.student`: student versions of the chapters.

Command line: ``python -m coursetools --help``.
"""
