"""alpha-LoRA in a network (theory/THEORY.md section 7): a pure-JAX transformer encoder, alpha-LoRA / LoRA /
DoRA adapters as their own pytree, the optax training loop (alpha trained by its own optimizer on a held-out batch),
pre-trained BERT/RoBERTa checkpoints (safetensors + tokenizer.json), and sentence embeddings from them (`embed`).
"""

from rmt_alpha.nn._adapter_stats import ParameterCounts as ParameterCounts
from rmt_alpha.nn._adapter_stats import alpha_statistics as alpha_statistics
from rmt_alpha.nn._adapter_stats import parameter_counts as parameter_counts
from rmt_alpha.nn._adapters import (
    AdapterConfig as AdapterConfig,
)
from rmt_alpha.nn._adapters import (
    adapted_params as adapted_params,
)
from rmt_alpha.nn._adapters import (
    init_adapters as init_adapters,
)
from rmt_alpha.nn._embed import (
    embed as embed,
)
from rmt_alpha.nn._encoder import apply as apply
from rmt_alpha.nn._encoder import hidden_states as hidden_states
from rmt_alpha.nn._encoder import pooled_features as pooled_features
from rmt_alpha.nn._heads import (
    HeadConfig as HeadConfig,
)
from rmt_alpha.nn._heads import (
    apply_head as apply_head,
)
from rmt_alpha.nn._merging import merge as merge
from rmt_alpha.nn._merging import unmerge as unmerge
from rmt_alpha.nn._methods import TRAINING_METHODS as TRAINING_METHODS
from rmt_alpha.nn._methods import FinetuneConfig as FinetuneConfig
from rmt_alpha.nn._models import (
    TransformerConfig as TransformerConfig,
)
from rmt_alpha.nn._models import (
    init_params as init_params,
)
from rmt_alpha.nn._pretrained import (
    Pretrained as Pretrained,
)
from rmt_alpha.nn._pretrained import (
    encode as encode,
)
from rmt_alpha.nn._pretrained import (
    load_pretrained as load_pretrained,
)
from rmt_alpha.nn._selection import fit_and_select as fit_and_select
from rmt_alpha.nn._selection import pretrain as pretrain
from rmt_alpha.nn._training import (
    FinetuneResult as FinetuneResult,
)
from rmt_alpha.nn._training import (
    evaluate as evaluate,
)
from rmt_alpha.nn._training import (
    finetune_network as finetune_network,
)
from rmt_alpha.nn._training import (
    init_state as init_state,
)
from rmt_alpha.nn._trees import load_tree as load_tree
from rmt_alpha.nn._trees import save_tree as save_tree

__all__ = [
    "adapted_params",
    "AdapterConfig",
    "alpha_statistics",
    "apply",
    "apply_head",
    "embed",
    "encode",
    "evaluate",
    "finetune_network",
    "FinetuneConfig",
    "FinetuneResult",
    "fit_and_select",
    "HeadConfig",
    "hidden_states",
    "init_adapters",
    "init_params",
    "init_state",
    "load_pretrained",
    "load_tree",
    "merge",
    "parameter_counts",
    "ParameterCounts",
    "pooled_features",
    "pretrain",
    "Pretrained",
    "save_tree",
    "TRAINING_METHODS",
    "TransformerConfig",
    "unmerge",
]
