"""Tiny BERT/RoBERTa checkpoints for the tests: the real tensor names of bert-base-uncased / roberta-base (and their
config.json keys), random weights, a 2-layer config, a tokenizer trained on a few sentences, GLUE-format TSVs.

Real files for comparison: roberta-base has `roberta.*` tensors with `LayerNorm.weight/bias`, a pooler and an
`lm_head.*`; bert-base-uncased has `bert.*` tensors with `LayerNorm.gamma/beta`, a pooler and `cls.*` heads.
"""

import json
import os

import numpy as np
from safetensors.numpy import save_file

CORPUS = [
    "the cat sat on the mat", "a dog ran in the park", "the film was wonderful and moving",
    "the plot was dull and the acting was poor", "is the cat on the mat", "the dog is in the park",
    "what a great movie", "nobody liked the ending", "the weather is nice today", "it will rain tomorrow",
]

_SPECIAL = {"roberta": ["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
            "bert": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]}


def make_tokenizer(family: str, directory: str) -> int:
    """Train and save `tokenizer.json` in the style of the real one; return its vocabulary size.

    roberta: byte-level BPE with RobertaProcessing (`<s> a </s></s> b </s>`, pad id 1);
    bert: lower-casing WordPiece with the template `[CLS] a [SEP] b:1 [SEP]:1` (pad id 0).
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    special = _SPECIAL[family]
    if family == "roberta":
        tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=special,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tokenizer.train_from_iterator(CORPUS, trainer)
        tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    else:
        tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=80, special_tokens=special))
        tokenizer.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    assert [tokenizer.token_to_id(t) for t in special] == list(range(len(special)))
    tokenizer.save(os.path.join(directory, "tokenizer.json"))
    return tokenizer.get_vocab_size()


def hf_config(family: str, vocab_size: int, num_layers: int = 2, hidden: int = 16, heads: int = 2,
              intermediate: int = 32) -> dict:
    """A config.json with the keys (and, but for the sizes, the values) of roberta-base / bert-base-uncased."""
    common = {"attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
              "hidden_size": hidden, "initializer_range": 0.02, "intermediate_size": intermediate,
              "num_attention_heads": heads, "num_hidden_layers": num_layers, "vocab_size": vocab_size}
    if family == "roberta":
        return {**common, "architectures": ["RobertaForMaskedLM"], "bos_token_id": 0, "eos_token_id": 2,
                "layer_norm_eps": 1e-05, "max_position_embeddings": 40 + 2, "model_type": "roberta",
                "pad_token_id": 1, "type_vocab_size": 1}
    return {**common, "architectures": ["BertForMaskedLM"], "gradient_checkpointing": False, "layer_norm_eps": 1e-12,
            "max_position_embeddings": 40, "model_type": "bert", "pad_token_id": 0,
            "position_embedding_type": "absolute", "type_vocab_size": 2, "use_cache": True}


def checkpoint_tensors(config: dict, seed: int = 0) -> dict:
    """Random float32 tensors with the real names and torch shapes (Linear weights (out, in))."""
    rng = np.random.default_rng(seed)
    family, d, ff, vocab = config["model_type"], config["hidden_size"], config["intermediate_size"], \
        config["vocab_size"]
    gamma, beta = ("gamma", "beta") if family == "bert" else ("weight", "bias")
    tensors = {}

    def linear(name, n_in, n_out, scale=0.4):
        tensors[f"{name}.weight"] = scale * rng.standard_normal((n_out, n_in))
        tensors[f"{name}.bias"] = 0.1 * rng.standard_normal(n_out)

    def norm(name):
        tensors[f"{name}.{gamma}"] = 1.0 + 0.2 * rng.standard_normal(d)
        tensors[f"{name}.{beta}"] = 0.1 * rng.standard_normal(d)

    p = family
    tensors[f"{p}.embeddings.word_embeddings.weight"] = 0.5 * rng.standard_normal((vocab, d))
    tensors[f"{p}.embeddings.position_embeddings.weight"] = 0.5 * rng.standard_normal(
        (config["max_position_embeddings"], d))
    tensors[f"{p}.embeddings.token_type_embeddings.weight"] = 0.5 * rng.standard_normal((config["type_vocab_size"], d))
    norm(f"{p}.embeddings.LayerNorm")
    for i in range(config["num_hidden_layers"]):
        layer = f"{p}.encoder.layer.{i}"
        for name in ("query", "key", "value"):
            linear(f"{layer}.attention.self.{name}", d, d)
        linear(f"{layer}.attention.output.dense", d, d)
        norm(f"{layer}.attention.output.LayerNorm")
        linear(f"{layer}.intermediate.dense", d, ff)
        linear(f"{layer}.output.dense", ff, d)
        norm(f"{layer}.output.LayerNorm")
    linear(f"{p}.pooler.dense", d, d)
    if family == "roberta":       # the masked-LM head
        linear("lm_head.dense", d, d)
        tensors["lm_head.layer_norm.weight"], tensors["lm_head.layer_norm.bias"] = np.ones(d), np.zeros(d)
        tensors["lm_head.bias"], tensors["lm_head.decoder.weight"] = np.zeros(vocab), rng.standard_normal((vocab, d))
    else:                         # masked-LM and next-sentence heads
        linear("cls.predictions.transform.dense", d, d)
        norm("cls.predictions.transform.LayerNorm")
        tensors["cls.predictions.bias"] = np.zeros(vocab)
        linear("cls.seq_relationship", d, 2)
    return {name: np.asarray(value, np.float32) for name, value in tensors.items()}


def make_checkpoint(directory: str, family: str, seed: int = 0, tensors_hook=None, **sizes) -> dict:
    """Write config.json, tokenizer.json and model.safetensors into `directory`; return the tensors written.

    `tensors_hook(tensors, config)` may edit the tensors before saving (to build broken checkpoints).
    """
    os.makedirs(directory, exist_ok=True)
    vocab = make_tokenizer(family, directory)
    config = hf_config(family, vocab, **sizes)
    with open(os.path.join(directory, "config.json"), "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    tensors = checkpoint_tensors(config, seed)
    if tensors_hook is not None:
        tensors_hook(tensors, config)
    save_file(tensors, os.path.join(directory, "model.safetensors"))
    return tensors


RTE_ROWS = [("the cat sat on the mat", "a cat is on the mat", "entailment"),
            ("a dog ran in the park", "the dog is asleep", "not_entailment"),
            ("the film was wonderful and moving", "the film was good", "entailment"),
            ("the plot was dull", "the plot was exciting", "not_entailment")]


def make_glue_rte(directory: str, n_train: int = 96, n_dev: int = 24, seed: int = 0) -> str:
    """GLUE-format RTE files (`RTE/train.tsv`, `RTE/dev.tsv`: index, sentence1, sentence2, label) with a
    learnable rule: a pair is entailment when the second sentence repeats the first one's opening word."""
    rng = np.random.default_rng(seed)
    words = " ".join(CORPUS).split()
    folder = os.path.join(directory, "RTE")
    os.makedirs(folder, exist_ok=True)
    for name, n in (("train.tsv", n_train), ("dev.tsv", n_dev)):
        lines = ["index\tsentence1\tsentence2\tlabel"]
        for i in range(n):
            first = " ".join(rng.choice(words, 5))
            entail = i % 2 == 0
            opening = first.split()[0] if entail else rng.choice([w for w in words if w != first.split()[0]])
            second = " ".join([opening, *rng.choice(words, 3)])
            lines.append(f"{i}\t{first}\t{second}\t{'entailment' if entail else 'not_entailment'}")
        with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return directory
