"""Data loaders: the Amazon Review 400-feature domains, scikit-learn's digits as transfer tasks, GLUE TSV
files, and synthetic token-stream review tasks for the transformer case.
"""

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
from rmt_alpha.data._synthetic_reviews import (
    ReviewTask as ReviewTask,
)
from rmt_alpha.data._synthetic_reviews import (
    make_reviews as make_reviews,
)

__all__ = [
    "AMAZON_DOMAINS",
    "amazon_pairs",
    "Domain",
    "GlueSplit",
    "GlueTask",
    "load_amazon",
    "load_amazon_domain",
    "load_digit_pair",
    "load_digit_tasks",
    "make_reviews",
    "read_split",
    "read_task",
    "ReviewTask",
    "task_spec",
]
