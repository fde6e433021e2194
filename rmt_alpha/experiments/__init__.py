"""Experiments: protocols, tables and result files. The honest transfer protocol on real features (Amazon
Review, digits) with every way of choosing alpha, the paper's own protocol beside it, the theory against the
measurement on real features, the same on a real encoder's features of review text with alpha-LoRA inside that
encoder (text transfer), and the transformer and GLUE experiments.
"""

from rmt_alpha.experiments._alpha_choices import (
    ALPHA_CHOICES as ALPHA_CHOICES,
)
from rmt_alpha.experiments._alpha_choices import (
    ALPHA_GRID as ALPHA_GRID,
)
from rmt_alpha.experiments._alpha_choices import (
    choose_alphas as choose_alphas,
)
from rmt_alpha.experiments._alpha_choices import (
    cross_validated_alpha as cross_validated_alpha,
)
from rmt_alpha.experiments._campaign import (
    Check as Check,
)
from rmt_alpha.experiments._campaign import (
    Experiment as Experiment,
)
from rmt_alpha.experiments._campaign import (
    Setting as Setting,
)
from rmt_alpha.experiments._campaign import (
    campaign_tables as campaign_tables,
)
from rmt_alpha.experiments._campaign import (
    run_amazon_experiment as run_amazon_experiment,
)
from rmt_alpha.experiments._campaign import (
    run_campaign as run_campaign,
)
from rmt_alpha.experiments._campaign import (
    run_digits_experiment as run_digits_experiment,
)
from rmt_alpha.experiments._glue import (
    GlueConfig as GlueConfig,
)
from rmt_alpha.experiments._glue import (
    run_glue as run_glue,
)
from rmt_alpha.experiments._paper_mode import (
    run_paper_mode as run_paper_mode,
)
from rmt_alpha.experiments._paper_mode import (
    run_paper_table as run_paper_table,
)
from rmt_alpha.experiments._prediction import (
    PredictionCheck as PredictionCheck,
)
from rmt_alpha.experiments._prediction import (
    check_pairs as check_pairs,
)
from rmt_alpha.experiments._prediction import (
    predict_vs_measure as predict_vs_measure,
)
from rmt_alpha.experiments._report import (
    format_experiment as format_experiment,
)
from rmt_alpha.experiments._report import (
    write_experiment as write_experiment,
)
from rmt_alpha.experiments._text_domains import (
    encoder_domains as encoder_domains,
)
from rmt_alpha.experiments._text_domains import (
    text_pairs as text_pairs,
)
from rmt_alpha.experiments._text_finetune import (
    FinetuneSettings as FinetuneSettings,
)
from rmt_alpha.experiments._text_transfer import (
    TextTransferConfig as TextTransferConfig,
)
from rmt_alpha.experiments._text_transfer import (
    check_from_record as check_from_record,
)
from rmt_alpha.experiments._text_transfer import (
    TextTransferResult as TextTransferResult,
)
from rmt_alpha.experiments._text_transfer import (
    run_text_transfer as run_text_transfer,
)
from rmt_alpha.experiments._transfer import (
    TransferResult as TransferResult,
)
from rmt_alpha.experiments._transfer import (
    run_transfer as run_transfer,
)
from rmt_alpha.experiments._transfer import (
    summary_rows as summary_rows,
)
from rmt_alpha.experiments._transformer import (
    ExperimentConfig as ExperimentConfig,
)
from rmt_alpha.experiments._transformer import (
    run_experiment as run_experiment,
)

__all__ = [
    "campaign_tables",
    "Check",
    "check_from_record",
    "check_pairs",
    "ALPHA_CHOICES",
    "ALPHA_GRID",
    "choose_alphas",
    "cross_validated_alpha",
    "encoder_domains",
    "Experiment",
    "ExperimentConfig",
    "FinetuneSettings",
    "format_experiment",
    "GlueConfig",
    "predict_vs_measure",
    "PredictionCheck",
    "run_amazon_experiment",
    "run_campaign",
    "run_digits_experiment",
    "run_experiment",
    "run_glue",
    "run_paper_mode",
    "run_paper_table",
    "run_text_transfer",
    "run_transfer",
    "Setting",
    "summary_rows",
    "text_pairs",
    "TextTransferConfig",
    "TextTransferResult",
    "TransferResult",
    "write_experiment",
]
