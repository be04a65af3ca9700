"""The course's own tooling (not part of the learners' package ``recsys_utils``).

* :mod:`coursetools.notebooks`: clean notebooks, write one edition per framework;
* :mod:`coursetools.lint`: static checks of a chapter's dual-framework structure;
* :mod:`coursetools.student`: student notebooks, one per framework;
* :mod:`coursetools.release`: the release folder (students' and instructor's side);
* :mod:`coursetools.grade` and :mod:`coursetools.sandbox`: grading submissions.

Command line: ``python -m coursetools --help``.
"""
