"""alpha-LoRA in a network (theory/THEORY.md section 7): a pure-JAX transformer encoder, alpha-LoRA / LoRA /
DoRA adapters as their own pytree, the optax training loop (alpha trained by its own optimizer on a held-out batch),
pre-trained BERT/RoBERTa checkpoints (safetensors + tokenizer.json), and sentence embeddings from them (`embed`).
"""

from rmt_alpha._deprecation import deprecated_aliases
from rmt_alpha.nn._adapter_stats import (
    ParameterCounts as ParameterCounts,
    alpha_statistics as alpha_statistics,
    parameter_counts as parameter_counts,
)
from rmt_alpha.nn._adapters import (
    AdapterConfig as AdapterConfig,
    adapted_params as adapted_params,
    init_adapters as init_adapters,
)
from rmt_alpha.nn._embed import (
    embed as embed,
)
from rmt_alpha.nn._encoder import apply as apply, hidden_states as hidden_states, pooled_features as pooled_features
from rmt_alpha.nn._finetune import (
    FinetuneResult as FinetuneResult,
    evaluate as evaluate,
    finetune_network as finetune_network,
    init_state as init_state,
)
from rmt_alpha.nn._heads import (
    HeadConfig as HeadConfig,
    apply_head as apply_head,
)
from rmt_alpha.nn._merging import merge as merge, unmerge as unmerge
from rmt_alpha.nn._methods import TRAINING_METHODS as TRAINING_METHODS, FinetuneConfig as FinetuneConfig
from rmt_alpha.nn._models import (
    TransformerConfig as TransformerConfig,
    init_params as init_params,
)
from rmt_alpha.nn._pretrained import (
    Pretrained as Pretrained,
    load_pretrained as load_pretrained,
    tokenize as tokenize,
)
from rmt_alpha.nn._selection import fit_and_select as fit_and_select, pretrain as pretrain
from rmt_alpha.nn._trees import load_tree as load_tree, save_tree as save_tree

# former names, kept for one release (CHANGELOG.md)
__getattr__ = deprecated_aliases(__name__, {"encode": "tokenize"}, globals())

__all__ = [
    "TRAINING_METHODS",
    "AdapterConfig",
    "FinetuneConfig",
    "FinetuneResult",
    "HeadConfig",
    "ParameterCounts",
    "Pretrained",
    "TransformerConfig",
    "adapted_params",
    "alpha_statistics",
    "apply",
    "apply_head",
    "embed",
    "evaluate",
    "finetune_network",
    "fit_and_select",
    "hidden_states",
    "init_adapters",
    "init_params",
    "init_state",
    "load_pretrained",
    "load_tree",
    "merge",
    "parameter_counts",
    "pooled_features",
    "pretrain",
    "save_tree",
    "tokenize",
    "unmerge",
]
