"""Data loaders: the Amazon Review 400-feature domains, scikit-learn's digits as transfer tasks, GLUE TSV
files, synthetic token-stream review tasks for the transformer case, and real labelled review text in seven domains;
`fetch` gets the Amazon files, the review text and the all-MiniLM-L6-v2 encoder once into the data cache, checked
against pinned SHA-256.
"""

from rmt_alpha._io import cache_root as cache_root, data_roots as data_roots
from rmt_alpha.data._cache import (
    CorruptFileError as CorruptFileError,
    FetchError as FetchError,
    find_item as find_item,
)
from rmt_alpha.data._domains import (
    AMAZON_DOMAINS as AMAZON_DOMAINS,
    Domain as Domain,
    amazon_pairs as amazon_pairs,
    load_amazon as load_amazon,
    load_amazon_domain as load_amazon_domain,
    load_digit_pair as load_digit_pair,
    load_digit_tasks as load_digit_tasks,
)
from rmt_alpha.data._fetch import (
    fetch as fetch,
    minilm_directory as minilm_directory,
)
from rmt_alpha.data._glue import (
    GlueSplit as GlueSplit,
    GlueTask as GlueTask,
    read_split as read_split,
    read_task as read_task,
    task_spec as task_spec,
)
from rmt_alpha.data._review_text import (
    REVIEW_TEXT_DOMAINS as REVIEW_TEXT_DOMAINS,
    TextDomain as TextDomain,
    load_review_text as load_review_text,
)
from rmt_alpha.data._synthetic_reviews import (
    ReviewTask as ReviewTask,
    make_reviews as make_reviews,
)

__all__ = [
    "AMAZON_DOMAINS",
    "REVIEW_TEXT_DOMAINS",
    "CorruptFileError",
    "Domain",
    "FetchError",
    "GlueSplit",
    "GlueTask",
    "ReviewTask",
    "TextDomain",
    "amazon_pairs",
    "cache_root",
    "data_roots",
    "fetch",
    "find_item",
    "load_amazon",
    "load_amazon_domain",
    "load_digit_pair",
    "load_digit_tasks",
    "load_review_text",
    "make_reviews",
    "minilm_directory",
    "read_split",
    "read_task",
    "task_spec",
]
