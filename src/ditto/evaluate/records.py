"""The eval-set and judged-output records, compatible with the official WikiRoleEval files.

An official record carries `system`, `prompts`, `ref_messages` (or `messages`) and a `meta`
with `label` (the character's name), `summary`, `lang`, `evidence` (one entry per turn),
`role_consist_cands` and `rejection_labels`; some of those may sit at the top level
instead. `EvalItem` is that record normalised; `JudgedItem` adds the answers of the
model under test and the judge's per-turn scores under the official names
(`consist_scores`, `reject_scores`, `knowledge_scores`), so that our judged files and the
official ones are scored by the same code. `eval_field` reads a field from either layout.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from ditto.evaluate.candidates import true_candidate

# Files of an evaluation run directory (`ditto eval run --out DIR`), read by `ditto report`.
JUDGED_FILE = "judged.jsonl"
SCORES_FILE = "scores.json"
MTBENCH_FILE = "mtbench.jsonl"
RUN_INFO_FILE = "run_info.json"

# The three WikiRoleEval metrics, in the paper's order.
METRICS = ("consistency", "knowledge", "rejection")


def eval_field(record: dict, name: str) -> object:
    """The record's value for `name`: the top-level one (ours) unless it is absent or None, else
    the one under `meta` (official); None when neither has it."""
    if record.get(name) is not None:
        return record[name]
    meta = record.get("meta")
    return meta.get(name) if isinstance(meta, dict) else None


class EvalItem(BaseModel):
    id: str
    lang: str
    label: str = Field(description="the character's name, as the consistency judge must name it")
    summary: str = ""
    system: str
    prompts: list[str]
    ref_messages: list[str] = Field(default_factory=list, description="reference answers, one per prompt")
    candidates: list[str] = Field(
        default_factory=list, description="role_consist_cands: '[Name] summary' lines (candidates.py reads them)"
    )
    rejection_labels: list[int] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list, description="tips for the knowledge judge, one per turn")
    character_id: str | None = None
    category: str | None = None

    @property
    def true_candidate(self) -> int | None:
        """The position of the character among `candidates` (None without candidates)."""
        return true_candidate(self.candidates, self.label, f"eval item {self.id}")


class JudgeSample(BaseModel):
    """One sampled judge answer, kept raw so any score can be re-derived or audited."""

    raw: str
    value: float | int | str | None = Field(
        description="the parsed value (consistency: the chosen candidate's index; under official parsing the "
        "bracketed name); None when unparsed"
    )
    attempts: int = 1
    cut: int = Field(0, description="answers of this sample cut at the judge's token limit")


class TurnJudgement(BaseModel):
    consistency: list[JudgeSample] = Field(default_factory=list)
    rejection: list[JudgeSample] = Field(default_factory=list)
    knowledge: list[JudgeSample] = Field(default_factory=list)


class JudgedItem(EvalItem):
    answers: list[str] = Field(description="the evaluated model's reply to each prompt, in order")
    consist_scores: list[float | None]
    reject_scores: list[int | None]
    knowledge_scores: list[float | None]
    judgements: list[TurnJudgement] = Field(default_factory=list)
    prompt_versions: dict[str, str] = Field(default_factory=dict)
