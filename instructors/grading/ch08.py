"""Chapter 8: the rubrics of its written exercises (instructors only).

Chapter 8 has no autograded exercise yet (coursetools.sections.UNGRADED_CHAPTERS):
a person grades the three below. The format is described in instructors/README.md.
"""

from __future__ import annotations

#: No self-checked exercise in this chapter yet.
EXERCISES: dict = {}

#: The exercises a person grades: points and what earns them.
WRITTEN = {
    "ch8-ex-threshold": {
        "points": 3,
        "rubric": [
            "1 point: faithfulness and coverage reported for min_share 0.34 and 0.67, "
            "measured with reason_metrics on the held-out pairs of section 8.1.",
            "1 point: a lower threshold claims more values: coverage rises and "
            "faithfulness falls; a higher one the reverse.",
            "1 point: the choice is a trade-off a shop makes (wrong reasons cost "
            "trust, missing ones cost persuasion); no threshold maximises both.",
        ],
    },
    "ch8-ex-attribution": {
        "points": 3,
        "rubric": [
            "1 point: the attention weights of the last reason token over the 24 "
            "memory slots are read from the trained decoder (either framework).",
            "1 point: the values of the top-2 attended slots are claimed and scored "
            "with reason_metrics against the truth, with the numbers.",
            "1 point: the conclusion follows the numbers: attention is an "
            "explanation only where it is measured faithful, as chapter 4's flat "
            "weights showed.",
        ],
    },
    "ch8-ex-hallucinate": {
        "points": 2,
        "rubric": [
            "1 point: a grammatical sentence that claims only values the item has "
            "but that are not reasons for this shopper (no taste gain, or no "
            "complement planted).",
            "1 point: faithfulness catches it; the hallucination rate does not "
            "(every claim is a known fact of the pair).",
        ],
    },
}
