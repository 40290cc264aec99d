"""agreement.json and stability.json of a run directory: how far the run's judge can be trusted.

WikiRoleEval's numbers are a judge's verdicts. Two optional files in a run directory say how
good that judge is: agreement.json (`ditto eval agreement JUDGED HUMAN.jsonl --out
RUN_DIR/agreement.json`: the judge against people's labels) and stability.json (`ditto eval
stability`: the judge against itself with the candidates reordered and with fresh samples, and
against a second judge). A run without either is reported as unchecked, never as trusted.

The records below are those files' layouts (`evaluate.agreement.compare`,
`evaluate.stability.stability`), validated on reading: a value out of its range (a share above
1, a knowledge score of 11, a negative count) or a missing field stops the report with one line
naming the file and the field, rather than drawing a chart of a broken file. NaN is refused:
the writers store an undefined figure as null. agreement.json written before it carried
"pairs" still reads; the report then shows its figures without the two charts.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, model_validator

Interval = tuple[float, float]
Share = Annotated[float, Field(ge=0, le=1)]
Vote = Annotated[int, Field(ge=0, le=1)]
Score = Annotated[int, Field(ge=1, le=10)]


class _Figures(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)


class ClassFigures(_Figures):
    """Consistency (a candidate position) or rejection (0/1): Cohen's kappa and accuracy."""

    kappa: float | None
    accuracy: Share | None
    n: NonNegativeInt
    ci: dict[str, Interval | None] = {}


class RankFigures(_Figures):
    """Knowledge (1-10): rank correlations and quadratic-weighted kappa."""

    spearman: float | None
    kendall: float | None
    qwk: float | None
    n: NonNegativeInt
    ci: dict[str, Interval | None] = {}


class MetricFigures(_Figures):
    """One comparison of two sets of verdicts (judge and people, judge and itself, two judges)."""

    consistency: ClassFigures
    rejection: ClassFigures
    knowledge: RankFigures


class Annotators(_Figures):
    count: NonNegativeInt
    alpha: dict[str, float | None] = {}
    units: dict[str, NonNegativeInt] = {}


class Pairs(_Figures):
    """[judge, human] per turn compared; consistency as 0-based candidate positions."""

    consistency: list[tuple[NonNegativeInt, NonNegativeInt]] = []
    rejection: list[tuple[Vote, Vote]] = []
    knowledge: list[tuple[Score, Score]] = []


class AgreementFile(MetricFigures):
    """agreement.json: the judge against people."""

    annotators: Annotators
    unmatched: dict[str, NonNegativeInt] = {}
    pairs: Pairs | None = None

    @model_validator(mode="after")
    def _pairs_are_the_turns_counted(self) -> AgreementFile:
        """The charts and the figures must be of the same turns."""
        for metric in ("consistency", "rejection", "knowledge"):
            counted, paired = getattr(self, metric).n, len(getattr(self.pairs, metric)) if self.pairs else None
            if paired is not None and paired != counted:
                raise ValueError(f"pairs.{metric} holds {paired} turns, but {metric}.n is {counted}")
        return self


class PositionBias(_Figures):
    """Consistency asked again with the candidates reordered: where the judge's choice went."""

    permutation: str
    n: NonNegativeInt
    follows_character: Share | None
    follows_position: Share | None
    other: Share | None
    ci: dict[str, Interval | None] = {}


class Retest(MetricFigures):
    seed: int


class SecondJudge(MetricFigures):
    other_judge: str


class StabilityFile(_Figures):
    """stability.json: the judge against itself, and against a second judge when one was given."""

    judge: str
    judged_file: str
    items: NonNegativeInt
    turns: NonNegativeInt
    position_bias: PositionBias
    test_retest: Retest
    judge_judge: SecondJudge | None = None
