"""The one exception a report read can raise: every problem found, each with where it is."""

Loc = tuple[str | int, ...]
Problem = tuple[str, Loc]

MAX_LISTED_PROBLEMS = 50


class ReportRejected(Exception):
    """The whole file is refused; `problems` lists (message, loc) for every row and column at fault.

    `detail` is the same list in FastAPI's validation shape (`{"type", "loc", "msg"}`), capped at
    MAX_LISTED_PROBLEMS entries plus one line saying how many more there were.
    """

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            problems = [("the file could not be read", ("body",))]
        super().__init__(problems[0][0])
        self.problems = problems
        shown = problems[:MAX_LISTED_PROBLEMS]
        self.detail: list[dict[str, object]] = [
            {"type": "value_error", "loc": list(loc), "msg": msg} for msg, loc in shown
        ]
        if len(problems) > len(shown):
            self.detail.append(
                {
                    "type": "value_error",
                    "loc": ["body"],
                    "msg": f"... and {len(problems) - len(shown)} more problems",
                }
            )


def quoted(text: str, limit: int = 40) -> str:
    """A cell as shown in a message: repr (escapes control characters), cut to `limit`."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def ranges(numbers: list[int]) -> str:
    """2, 3, 4, 7 → '2-4, 7' so long files name rows compactly."""
    spans: list[list[int]] = []
    for number in sorted(numbers):
        if spans and spans[-1][1] == number - 1:
            spans[-1][1] = number
        elif not spans or spans[-1][1] != number:
            spans.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
