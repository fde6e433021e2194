"""Data loaders: the Amazon Review 400-feature domains, scikit-learn's digits as transfer tasks, GLUE TSV
files, synthetic token-stream review tasks for the transformer case, and real labelled review text in seven domains;
`fetch` gets the Amazon files, the review text and the all-MiniLM-L6-v2 encoder once into the data cache, checked
against pinned SHA-256.
"""

from rmt_alpha._io import cache_root as cache_root
from rmt_alpha._io import data_roots as data_roots
from rmt_alpha.data._cache import (
    CorruptFileError as CorruptFileError,
)
from rmt_alpha.data._cache import (
    FetchError as FetchError,
)
from rmt_alpha.data._cache import (
    find_item as find_item,
)
from rmt_alpha.data._domains import (
    AMAZON_DOMAINS as AMAZON_DOMAINS,
)
from rmt_alpha.data._domains import (
    Domain as Domain,
)
from rmt_alpha.data._domains import (
    amazon_pairs as amazon_pairs,
)
from rmt_alpha.data._domains import (
    load_amazon as load_amazon,
)
from rmt_alpha.data._domains import (
    load_amazon_domain as load_amazon_domain,
)
from rmt_alpha.data._domains import (
    load_digit_pair as load_digit_pair,
)
from rmt_alpha.data._domains import (
    load_digit_tasks as load_digit_tasks,
)
from rmt_alpha.data._fetch import (
    fetch as fetch,
)
from rmt_alpha.data._fetch import (
    minilm_directory as minilm_directory,
)
from rmt_alpha.data._glue import (
    GlueSplit as GlueSplit,
)
from rmt_alpha.data._glue import (
    GlueTask as GlueTask,
)
from rmt_alpha.data._glue import (
    read_split as read_split,
)
from rmt_alpha.data._glue import (
    read_task as read_task,
)
from rmt_alpha.data._glue import (
    task_spec as task_spec,
)
from rmt_alpha.data._review_text import (
    REVIEW_TEXT_DOMAINS as REVIEW_TEXT_DOMAINS,
)
from rmt_alpha.data._review_text import (
    TextDomain as TextDomain,
)
from rmt_alpha.data._review_text import (
    load_review_text as load_review_text,
)
from rmt_alpha.data._synthetic_reviews import (
    ReviewTask as ReviewTask,
)
from rmt_alpha.data._synthetic_reviews import (
    make_reviews as make_reviews,
)

__all__ = [
    "AMAZON_DOMAINS",
    "amazon_pairs",
    "cache_root",
    "CorruptFileError",
    "data_roots",
    "Domain",
    "fetch",
    "FetchError",
    "find_item",
    "GlueSplit",
    "GlueTask",
    "load_amazon",
    "load_amazon_domain",
    "load_digit_pair",
    "load_digit_tasks",
    "load_review_text",
    "make_reviews",
    "minilm_directory",
    "read_split",
    "read_task",
    "REVIEW_TEXT_DOMAINS",
    "ReviewTask",
    "task_spec",
    "TextDomain",
]
