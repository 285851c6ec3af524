"""Evaluation: gold question/answer sets, the index they are asked against, the run that
asks and scores them, and what a run shows (the table, the report folder, a comparison).

    gold = read_gold(path)
    result = evaluate(gold, eval_pipeline(gold, Settings.from_env(), corpus), limit=60)
    print(summary_table(result.summary)); write_report(result, folder)
"""

from rag.eval.compare import compare
from rag.eval.corpus import eval_pipeline, eval_settings
from rag.eval.gold import GoldItem, GoldSet, read_clapnq, read_gold, read_jsonl, read_squad, sample
from rag.eval.records import CitationRecord, QuestionRecord
from rag.eval.report import REPORT_FILES, write_report
from rag.eval.run import Evaluation, evaluate, score
from rag.eval.tables import summary_table

__all__ = [
    "REPORT_FILES", "CitationRecord", "Evaluation", "GoldItem", "GoldSet", "QuestionRecord", "compare",
    "eval_pipeline", "eval_settings", "evaluate", "read_clapnq", "read_gold", "read_jsonl", "read_squad", "sample", "score",
    "summary_table", "write_report",
]
