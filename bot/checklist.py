"""The requirements checklist as plain rules: which answers are gaps, what the summary says."""

from __future__ import annotations

from dataclasses import dataclass

from bot.content import ChecklistItem

YES, NO, UNSURE = "yes", "no", "unsure"
NO_SUBTHEME = "none"


def subtheme_answer(selected: list[str]) -> str:
    return ",".join(selected) if selected else NO_SUBTHEME


def selected_subthemes(answer: str | None) -> list[str]:
    if not answer or answer == NO_SUBTHEME:
        return []
    return answer.split(",")


def is_gap(item: ChecklistItem, answer: str | None) -> bool:
    if item.kind == "subthemes":
        return not selected_subthemes(answer)
    return answer != YES


@dataclass(frozen=True)
class Summary:
    in_place: list[ChecklistItem]
    gaps: list[tuple[ChecklistItem, str | None]]  # (item, answer: no / unsure / none / missing)
    subthemes: list[str]

    @property
    def fits(self) -> bool:
        return not self.gaps


def summarize(items: tuple[ChecklistItem, ...], answers: dict[str, str]) -> Summary:
    in_place, gaps, subthemes = [], [], []
    for item in items:
        answer = answers.get(item.id)
        if item.kind == "subthemes":
            subthemes = selected_subthemes(answer)
        if is_gap(item, answer):
            gaps.append((item, answer))
        else:
            in_place.append(item)
    return Summary(in_place, gaps, subthemes)
