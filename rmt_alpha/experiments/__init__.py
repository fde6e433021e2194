"""Experiments: protocols, tables and result files. The honest transfer protocol on real features (Amazon
Review, digits) with every way of choosing alpha, the paper's own protocol beside it, the theory against the
measurement on real features, the same on a real encoder's features of review text with alpha-LoRA inside that
encoder (text transfer), and the transformer and GLUE experiments.
"""

from rmt_alpha._deprecation import deprecated_aliases
from rmt_alpha.experiments._alpha_choices import (
    ALPHA_CHOICES as ALPHA_CHOICES,
    ALPHA_GRID as ALPHA_GRID,
    alphas_by_method as alphas_by_method,
    cross_validated_alpha as cross_validated_alpha,
)
from rmt_alpha.experiments._campaign import (
    CampaignResult as CampaignResult,
    Check as Check,
    Setting as Setting,
    campaign_tables as campaign_tables,
    run_amazon_experiment as run_amazon_experiment,
    run_campaign as run_campaign,
    run_digits_experiment as run_digits_experiment,
)
from rmt_alpha.experiments._campaign_report import (
    format_campaign as format_campaign,
    write_campaign as write_campaign,
)
from rmt_alpha.experiments._glue import (
    GlueConfig as GlueConfig,
    run_glue as run_glue,
)
from rmt_alpha.experiments._laws import (
    LAWS as LAWS,
    CheckRows as CheckRows,
    law_rows as law_rows,
)
from rmt_alpha.experiments._paper_mode import (
    run_paper_mode as run_paper_mode,
    run_paper_table as run_paper_table,
)
from rmt_alpha.experiments._prediction import (
    PredictionCheck as PredictionCheck,
    SplitPredictions as SplitPredictions,
    check_pairs as check_pairs,
    predict_vs_measure as predict_vs_measure,
    prediction_gaps as prediction_gaps,
)
from rmt_alpha.experiments._text_domains import (
    encoder_domains as encoder_domains,
    text_pairs as text_pairs,
)
from rmt_alpha.experiments._text_finetune import (
    FinetuneSettings as FinetuneSettings,
)
from rmt_alpha.experiments._text_transfer import (
    TextTransferConfig as TextTransferConfig,
    TextTransferResult as TextTransferResult,
    check_from_record as check_from_record,
    run_text_transfer as run_text_transfer,
)
from rmt_alpha.experiments._transfer import (
    TransferResult as TransferResult,
    run_transfer as run_transfer,
    summary_rows as summary_rows,
)
from rmt_alpha.experiments._transformer import (
    TransformerExperimentConfig as TransformerExperimentConfig,
    run_transformer_experiment as run_transformer_experiment,
)

# former names, kept for one release (CHANGELOG.md)
__getattr__ = deprecated_aliases(__name__, {
    "Experiment": "CampaignResult",
    "format_experiment": "format_campaign",
    "write_experiment": "write_campaign",
    "ExperimentConfig": "TransformerExperimentConfig",
    "run_experiment": "run_transformer_experiment",
    "choose_alphas": "alphas_by_method",
}, globals())

__all__ = [
    "ALPHA_CHOICES",
    "ALPHA_GRID",
    "Check",
    "CheckRows",
    "CampaignResult",
    "TransformerExperimentConfig",
    "FinetuneSettings",
    "GlueConfig",
    "LAWS",
    "PredictionCheck",
    "Setting",
    "SplitPredictions",
    "TextTransferConfig",
    "TextTransferResult",
    "TransferResult",
    "campaign_tables",
    "check_from_record",
    "check_pairs",
    "alphas_by_method",
    "cross_validated_alpha",
    "encoder_domains",
    "format_campaign",
    "law_rows",
    "predict_vs_measure",
    "prediction_gaps",
    "run_amazon_experiment",
    "run_campaign",
    "run_digits_experiment",
    "run_transformer_experiment",
    "run_glue",
    "run_paper_mode",
    "run_paper_table",
    "run_text_transfer",
    "run_transfer",
    "summary_rows",
    "text_pairs",
    "write_campaign",
]
